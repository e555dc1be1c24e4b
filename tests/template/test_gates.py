"""The gates `make lint` runs hold: a function too long or too complex, or a module too long, fails
the shape gate naming it; an import against the layers' direction fails the import gate naming the
import; and the provider as it is passes both."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testkit.templates import ROOT


def gates(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools/gates.py"), str(root)], capture_output=True, text=True, check=False
    )


def test_the_provider_passes_its_gates():
    ran = gates(ROOT / "src")
    assert ran.returncode == 0, ran.stdout


LONG_BODY = "\n".join(f"    x{i} = {i}" for i in range(60))
BRANCHES = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(15))


@pytest.mark.parametrize(
    ("name", "source", "named"),
    [
        ("long.py", f"def long_one():\n{LONG_BODY}\n    return 0\n", "long_one has 62 lines (at most 60)"),
        (
            "branchy.py",
            f"def branchy(x):\n{BRANCHES}\n    return -1\n",
            "branchy has complexity 16 (at most 15)",
        ),
        ("big.py", "x = 1\n" * 401, "big.py: 401 lines (at most 400)"),
    ],
)
def test_code_over_a_shape_limit_fails_naming_it(tmp_path, name, source, named):
    (tmp_path / name).write_text(source)
    ran = gates(tmp_path)
    assert ran.returncode == 1
    assert named in ran.stdout


def lint_imports(handler: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "lint-imports"),
            "--no-cache",
            "--config",
            str(ROOT / "pyproject.toml"),
        ],
        cwd=handler,
        env={"PYTHONPATH": str(handler), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_provider_keeps_its_layers():
    ran = lint_imports(ROOT / "src/handler")
    assert ran.returncode == 0, ran.stdout
    assert "Contracts: 2 kept, 0 broken." in ran.stdout


@pytest.mark.parametrize(
    ("module", "planted", "named"),
    [
        (
            "planning/plan.py",
            "from ..applying import deploy",
            "ecs_state_machine.planning.plan -> ecs_state_machine.applying.deploy",
        ),
        (
            "cli/reads.py",
            "from ..applying import roles",
            "ecs_state_machine.cli.reads -> ecs_state_machine.applying.roles",
        ),
        (
            "schema/model.py",
            "from ..planning import render",
            "ecs_state_machine.schema.model -> ecs_state_machine.planning.render",
        ),
        (
            "applying/roles.py",
            "from ..following import follower",
            "ecs_state_machine.applying.roles -> ecs_state_machine.following.follower",
        ),
        (
            "base/aws.py",
            "from ..cloudformation import response",
            "ecs_state_machine.base.aws -> ecs_state_machine.cloudformation.response",
        ),
    ],
)
def test_an_import_against_the_layers_fails_naming_it(tmp_path, module, planted, named):
    handler = tmp_path / "handler"
    shutil.copytree(
        ROOT / "src/handler/ecs_state_machine",
        handler / "ecs_state_machine",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    target = handler / "ecs_state_machine" / module
    text = target.read_text()
    target.write_text(
        text.replace(
            "from __future__ import annotations\n", f"from __future__ import annotations\n\n{planted}\n", 1
        )
    )
    ran = lint_imports(handler)
    assert ran.returncode == 1, ran.stdout
    assert "BROKEN" in ran.stdout
    assert named in ran.stdout, ran.stdout
