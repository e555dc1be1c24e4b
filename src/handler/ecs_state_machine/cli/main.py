"""The `ecs-state-machine` command: `plan TEMPLATE` and `drift --stack NAME`.

Exit codes: 0 no change (in sync), 2 changes (drifted), 1 an error or a refusal, 3 with
--fail-on-broadening when a resource's permissions broaden."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from botocore.exceptions import BotoCoreError

from ..base.aws import Aws, AwsError
from ..base.errors import ProviderError
from . import report
from .template import TemplateError

NO_CHANGE, ERROR, CHANGES, BROADENING = 0, 1, 2, 3


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="ecs-state-machine",
        description="Review Custom::EcsStateMachine resources before a deploy (plan) and after it (drift). "
        "Reads only: Describe, Get and List calls.",
    )
    commands = root.add_subparsers(dest="command", required=True)
    plan = commands.add_parser("plan", help="what each resource of a template will become, and what changes")
    plan.add_argument("template", type=Path, help="the consumer template (YAML or JSON)")
    plan.add_argument("--stack", help="the stack the template is (or will be) deployed as")
    plan.add_argument("--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE")
    plan.add_argument("--fail-on-broadening", action="store_true", help="exit 3 when permissions broaden")
    drift = commands.add_parser("drift", help="what changed outside the stack since its last deploy")
    drift.add_argument("--stack", required=True)
    for command in (plan, drift):
        command.add_argument("--provider-stack", help="default: the stack exporting the ServiceToken")
        command.add_argument("--region")
        command.add_argument("--profile")
        command.add_argument("--format", choices=("text", "json", "markdown"), default="text")
    return root


def overrides(pairs: Sequence[str]) -> dict[str, str]:
    found = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise TemplateError(f"--parameter-overrides {pair!r} is not KEY=VALUE")
        found[key] = value
    return found


def session(region: str | None, profile: str | None) -> Any:
    import boto3

    return boto3.Session(region_name=region, profile_name=profile)


def main(argv: Sequence[str] | None = None, *, aws: Aws | None = None, out: TextIO = sys.stdout) -> int:
    args = parser().parse_args(argv)
    try:
        if aws is None:
            chosen = session(args.region, args.profile)
            if not chosen.region_name:
                raise TemplateError("no AWS region: give --region, or set AWS_REGION or a profile's region")
            aws = Aws(session=chosen, budget=10.0)
        return _plan(args, aws, out) if args.command == "plan" else _drift(args, aws, out)
    except (TemplateError, ProviderError, AwsError, BotoCoreError, OSError) as err:
        print(f"ecs-state-machine: {err}", file=sys.stderr)
        return ERROR


def _plan(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from .run import plan

    outcome = plan(
        aws,
        args.template.read_text(),
        stack_name=args.stack,
        overrides=overrides(args.parameter_overrides),
        provider_stack=args.provider_stack,
    )
    plans = outcome.resources
    _print(
        args.format, out, report.plan_json, report.plan_text, report.plan_markdown, plans, outcome.warnings
    )
    for p in plans:
        if p.action == "error":
            print(f"ecs-state-machine: {p.reason}", file=sys.stderr)
    if any(p.action == "error" for p in plans):
        return ERROR
    if args.fail_on_broadening and any(p.broadening for p in plans):
        return BROADENING
    return CHANGES if any(p.action != "none" for p in plans) else NO_CHANGE


def _drift(args: argparse.Namespace, aws: Aws, out: TextIO) -> int:
    from .run import drift

    outcome = drift(aws, stack_name=args.stack, provider_stack=args.provider_stack)
    found = outcome.resources
    _print(
        args.format, out, report.drift_json, report.drift_text, report.drift_markdown, found, outcome.warnings
    )
    if any(d.status == "error" for d in found):
        return ERROR
    return CHANGES if any(d.status == "drifted" for d in found) else NO_CHANGE


def _print(
    fmt: str, out: TextIO, as_json: Any, as_text: Any, as_markdown: Any, found: Any, warnings: list[str]
) -> None:
    if fmt == "json":
        out.write(json.dumps(as_json(found, warnings), indent=2) + "\n")
    else:
        out.write((as_text if fmt == "text" else as_markdown)(found, warnings))
    if fmt != "text":
        for warning in warnings:
            print(f"warning: {warning}", file=sys.stderr)


def entry() -> None:
    sys.exit(main())
