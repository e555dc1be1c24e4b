"""Entry point of the moto server process used by the e2e tests and the demo.

    python -m tests.harness.moto_process --port 50123

Applies ``tests.harness.sfn_ecs_patch`` (Step Functions' ECS integration) and then runs moto's own
server (``moto.server.main``) on 127.0.0.1. Every other argument is moto's.
"""

from __future__ import annotations

import sys

from testkit import moto_patches


def main(argv: list[str] | None = None) -> None:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if not {"-H", "--host"} & set(arguments):
        arguments = ["--host", "127.0.0.1", *arguments]
    moto_patches.apply()

    from moto.server import main as moto_main

    moto_main(arguments)


if __name__ == "__main__":
    main()
