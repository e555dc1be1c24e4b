"""The shape gates `make lint` runs hold: a function too long or too complex, or a module too long,
fails the gate naming it, and the provider as it is passes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from testkit.templates import ROOT


def gates(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "tools/gates.py"), str(root)], capture_output=True, text=True, check=False
    )


def test_the_provider_passes_its_gates():
    ran = gates(ROOT / "src")
    assert ran.returncode == 0, ran.stdout


def test_a_function_over_60_lines_fails_naming_it(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(60))
    (tmp_path / "long.py").write_text(f"def long_one():\n{body}\n    return 0\n")
    ran = gates(tmp_path)
    assert ran.returncode == 1
    assert "long_one has 62 lines (at most 60)" in ran.stdout


def test_a_function_over_complexity_15_fails_naming_it(tmp_path):
    branches = "\n".join(f"    if x == {i}:\n        return {i}" for i in range(15))
    (tmp_path / "branchy.py").write_text(f"def branchy(x):\n{branches}\n    return -1\n")
    ran = gates(tmp_path)
    assert ran.returncode == 1
    assert "branchy has complexity 16 (at most 15)" in ran.stdout


def test_a_module_over_400_lines_fails_naming_it(tmp_path):
    (tmp_path / "big.py").write_text("x = 1\n" * 401)
    ran = gates(tmp_path)
    assert ran.returncode == 1
    assert "big.py: 401 lines (at most 400)" in ran.stdout
