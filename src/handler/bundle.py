"""Take out of a built function what it never imports (run by this directory's Makefile, which
`sam build` runs): test suites, Powertools' subpackages other than logging and metrics need, the
timezone database (the provider parses no time zone), bytecode caches and install records.

The tests import `app` and `follower_app` from the result and validate a definition with it, so
nothing needed can go unnoticed.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

UNUSED = (
    "aws_lambda_powertools/event_handler",
    *(
        f"aws_lambda_powertools/utilities/{name}"
        for name in (
            "auth_alpha",
            "batch",
            "circuit_breaker",
            "data_classes",
            "data_masking",
            "feature_flags",
            "idempotency",
            "kafka",
            "parameters",
            "parser",
            "streaming",
            "validation",
        )
    ),
    "tzdata",
    "bin",  # console scripts (statelint's): nothing runs them in Lambda
    "ecs_state_machine/cli",  # the plan and drift command: never imported by the functions
)


def trim(root: Path) -> int:
    """Remove what is never imported; the bytes saved."""
    doomed = [root / relative for relative in UNUSED]
    doomed += list(root.glob("tzdata-*.dist-info"))
    doomed += [p for p in root.rglob("*") if p.is_dir() and p.name in ("tests", "__pycache__")]
    doomed += list(root.rglob("*.dist-info/RECORD"))
    saved = 0
    for path in doomed:
        if not path.exists():
            continue
        if path.is_dir():
            saved += sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
            shutil.rmtree(path)
        else:
            saved += path.stat().st_size
            path.unlink()
    return saved


if __name__ == "__main__":
    print(f"bundle: {trim(Path(sys.argv[1])) // 1024} KiB of unused code removed")
