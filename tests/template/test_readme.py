"""The README says what the code does: its tables are checked against the schema, the template and
the tree, so they cannot drift apart."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

from cfnlint.decode import decode_str

from ecs_state_machine.schema.properties import SCHEMA
from testkit.docs import section

ROOT = Path(__file__).resolve().parents[2]


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
    rows = [line.split("|") for line in section("The provider stack's parameters").splitlines()]
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


PACKAGE = ROOT / "src/handler/ecs_state_machine"


def test_the_layout_names_every_module_under_its_own_folder():
    """Each module is named in the Layout's tree under the folder it lives in."""
    tree = re.search(r"```\n(.*?)```", section("Layout"), re.S).group(1)
    where: dict[str, str] = {}
    folder = ""
    for line in tree.splitlines():
        heading = re.match(r"^  ([a-z_]+)/", line)
        if heading:
            folder = heading.group(1)
        for module in re.findall(r"\b([a-z_]+)\.py\b", re.split(r"\s{2,}", line.strip())[0]):
            where[module] = folder
    modules = {p.stem: p.parent.name for p in PACKAGE.glob("*/*.py") if p.stem != "__init__"}
    assert not list(PACKAGE.glob("*.py"))[1:], "modules belong in a folder of their concern"
    wrong = {m: (f, where.get(m)) for m, f in modules.items() if where.get(m) != f}
    assert not wrong, f"modules the Layout does not name under their folder (folder, named under): {wrong}"


def test_every_folder_of_the_package_says_what_it_is_for_and_where_it_stands():
    folders = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists())
    layers = section("Layout")
    for folder in folders:
        purpose = (PACKAGE / folder / "__init__.py").read_text().strip()
        assert purpose.startswith('"""') and len(purpose) > 40, f"{folder}/__init__.py says nothing"
        assert f"`{folder}/`" in layers, f"the Layout's table of layers does not place {folder}/"


def _quick_start(page: Path) -> dict:
    block = re.search(r"```yaml\n(\s*Resources:\n.*?)```", page.read_text(), re.S)
    assert block, f"{page.name}'s quick start has no template"
    template, problems = decode_str(textwrap.dedent(block.group(1)))
    assert not problems or all("ImportValue" in str(p) for p in problems), problems
    return dict(template)


def _first_yaml_example() -> dict:
    (resource,) = [
        r
        for r in _quick_start(ROOT / "README.md")["Resources"].values()
        if r["Type"] == "Custom::EcsStateMachine"
    ]
    properties = dict(resource["Properties"])
    for key in ("ServiceToken", "ServiceTimeout"):
        properties.pop(key, None)
    return properties


def test_the_site_opens_with_the_readmes_quick_start():
    assert _quick_start(ROOT / "docs/index.md") == _quick_start(ROOT / "README.md")


def test_the_quick_start_is_accepted_by_the_provider():
    from ecs_state_machine.schema.properties import parse

    props = parse(_first_yaml_example())
    assert props.task_definition.text == "nightly-report"


def test_what_it_generates_is_what_the_renderer_writes_for_the_opening_example():
    import json

    from ecs_state_machine.planning.single_task import render_definition
    from ecs_state_machine.schema.properties import parse
    from ecs_state_machine.schema.resolved import Resolved, TaskDefinition

    shown = json.loads(re.search(r"```json\n(.*?)```", section("What it generates"), re.S).group(1))
    example = _first_yaml_example()
    account = "arn:aws:ecs:us-east-1:123456789012"
    family, container = example["TaskDefinition"], example["ContainerName"]
    revision = TaskDefinition(
        arn=f"{account}:task-definition/{family}:2",
        family=family,
        revision=2,
        containers=(container, "sidecar"),
        network_mode="awsvpc",
        compatibilities=("FARGATE",),
        task_role_arn=f"arn:aws:iam::123456789012:role/{family}-task",
        execution_role_arn=f"arn:aws:iam::123456789012:role/{family}-execution",
    )
    resolved = Resolved(revision, container, f"{account}:cluster/{example['Cluster']}")
    rendered = render_definition(parse(_first_yaml_example()), resolved)
    assert rendered["States"][rendered["StartAt"]] == shown


def test_what_it_generates_names_every_statement_the_provider_can_write():
    """The policy table's statements are exactly the Sids the renderer writes, over every option."""
    from ecs_state_machine.planning import render
    from ecs_state_machine.schema.resolved import TaskGrant

    table = {
        sid
        for cell in first_cells(section("What it generates"))
        for sid in re.findall(r"`([A-Z][A-Za-z0-9]+)`", re.sub(r"\([^)]*\)", "", cell))
    }
    cluster = "arn:aws:ecs:us-east-1:123456789012:cluster/batch"
    grants = [
        TaskGrant(
            "RUN_JOB", cluster, (f"{cluster}:x",), ("arn:aws:iam::123456789012:role/r",), tags_task=True
        ),
        TaskGrant("RUN_JOB", None, (), (), tags_task=False, assume_role="arn:aws:iam::222233334444:role/r"),
    ]
    policy = render.role_policy(
        grants,
        logging_enabled=True,
        tracing_enabled=True,
        extra=({"Effect": "Allow", "Action": "sns:Publish", "Resource": "arn:aws:sns:us-east-1:1:t"},),
    )
    written = {s["Sid"] for s in policy["Statement"]} | {
        s["Sid"]
        for s in render.child_execution_statements("arn:aws:states:us-east-1:123456789012:stateMachine:x")
    }
    assert table - {"Stack2"} == written, (table, written)
