"""The shape gates `make lint` holds the provider to: no function or method over cyclomatic
complexity 15 as radon counts it (boolean operators included, which ruff's C901 does not count),
no function over 60 lines, and no module over 400 lines.

    python tools/gates.py [directory ...]      (default: src)
"""

from __future__ import annotations

import sys
from pathlib import Path

from radon.complexity import cc_visit
from radon.visitors import Class, Function

MAX_COMPLEXITY = 15
MAX_LINES = 400
MAX_FUNCTION_LINES = 60


def functions(blocks: list[Function | Class]) -> list[Function]:
    found: list[Function] = []
    for block in blocks:
        if isinstance(block, Class):
            found += functions(list(block.methods))
        else:
            found.append(block)
            found += functions(list(block.closures))
    return found


def problems(root: Path) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        source = path.read_text()
        lines = source.count("\n")
        if lines > MAX_LINES:
            found.append(f"{path}: {lines} lines (at most {MAX_LINES})")
        for function in functions(cc_visit(source)):
            length = function.endline - function.lineno + 1
            if length > MAX_FUNCTION_LINES:
                found.append(
                    f"{path}:{function.lineno}: {function.fullname} has {length} lines (at most {MAX_FUNCTION_LINES})"
                )
            if function.complexity > MAX_COMPLEXITY:
                found.append(
                    f"{path}:{function.lineno}: {function.fullname} has complexity {function.complexity} "
                    f"(at most {MAX_COMPLEXITY})"
                )
    return found


def main(argv: list[str]) -> int:
    roots = [Path(arg) for arg in argv] or [Path("src")]
    found = [problem for root in roots for problem in problems(root)]
    for problem in found:
        print(problem)
    measured = sum(1 for root in roots for _ in root.rglob("*.py"))
    print(f"shape gates: {measured} modules, {len(found)} over the limits")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
