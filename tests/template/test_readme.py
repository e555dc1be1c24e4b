"""The README says what the code does: its tables are checked against the schema, the template and
the tree, so they cannot drift apart."""

from __future__ import annotations

import re
from pathlib import Path

from cfnlint.decode import decode_str

from ecs_state_machine.properties import SCHEMA

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    start = README.index(f"\n## {title}\n")
    end = README.find("\n## ", start + 1)
    return README[start : end if end != -1 else None]


def first_cells(text: str) -> list[str]:
    """The first cell of every row of the markdown tables in `text` (header and rule excluded)."""
    rows = [line for line in text.splitlines() if line.startswith("| ") and not line.startswith("|---")]
    return [
        row.split("|")[1].strip()
        for row in rows
        if row.split("|")[1].strip() not in ("property", "parameter")
    ]


def test_the_property_table_lists_exactly_the_properties_the_provider_accepts():
    named = {name for cell in first_cells(section("Properties")) for name in re.findall(r"`(\w+)`", cell)}
    assert named == set(SCHEMA), (
        f"in the README only: {named - set(SCHEMA)}; in the schema only: {set(SCHEMA) - named}"
    )


def test_the_parameter_table_lists_every_parameter_of_the_provider_stack_with_its_default():
    template, problems = decode_str((ROOT / "template.yaml").read_text())
    assert not problems
    rows = [
        line.split("|") for line in section("Deploy the provider (once per account and region)").splitlines()
    ]
    table = {
        row[1].strip().strip("`"): row[2].strip()
        for row in rows
        if len(row) > 3 and row[1].strip().startswith("`")
    }
    assert set(table) == set(template["Parameters"])
    for name, spec in template["Parameters"].items():
        default = str(spec.get("Default"))
        shown = table[name]
        assert shown.startswith("empty") if default == "" else default in shown, (name, default, shown)


def test_the_layout_names_every_module_of_the_provider():
    layout = section("Layout")
    modules = sorted(
        p.stem for p in (ROOT / "src/handler/ecs_state_machine").glob("*.py") if p.stem != "__init__"
    )
    missing = [module for module in modules if not re.search(rf"\b{module}\.py\b", layout)]
    assert not missing, f"modules the README's Layout does not name: {missing}"
