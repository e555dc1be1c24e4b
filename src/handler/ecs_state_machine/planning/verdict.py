"""Step Functions' own verdict on a definition (ValidateStateMachineDefinition), asked before
anything is written, after statelint (`lint`) has given its faster, offline answer with the
state's path. Where the region or the runtime's boto3 does not offer the call, the deploy goes on
with statelint's answer alone, and the log says so.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from ..base.aws import AwsError
from ..base.errors import MISSING, PropertyError, ProviderError
from ..base.log import child_logger

if TYPE_CHECKING:
    from ..base.aws import Aws

logger = child_logger()

UNAVAILABLE = ("UnknownOperationException", "InvalidAction", "UnrecognizedClientException")


def check(aws: Aws, definition: dict[str, Any], kind: str, prop: str | None) -> None:
    """Raise a Reason naming the first diagnostic when Step Functions finds `definition` invalid.
    `prop` is the property the definition comes from (None: rendered from the properties)."""
    client = aws.client("stepfunctions")
    if not hasattr(client, "validate_state_machine_definition"):
        logger.warning("ValidateStateMachineDefinition is not in this boto3: statelint's check only")
        return
    try:
        answer = aws.call(
            "stepfunctions",
            "validate_state_machine_definition",
            "validating the definition with Step Functions",
            definition=json.dumps(definition, separators=(",", ":")),
            type=kind,
            severity="ERROR",
            maxResults=10,
        )
    except AwsError as err:
        if err.code not in UNAVAILABLE:
            raise
        logger.warning("ValidateStateMachineDefinition is not offered here: statelint's check only")
        return
    if answer.get("result") != "FAIL":
        return
    diagnostics = answer.get("diagnostics") or [{}]
    first = diagnostics[0]
    where = ".".join(p for p in str(first.get("location") or "").split("/") if p)
    more = f" (and {len(diagnostics) - 1} more)" if len(diagnostics) > 1 else ""
    problem = (
        f"Step Functions finds it invalid: {first.get('code', 'FAIL')}: {first.get('message', '')}{more}"
    )
    if prop is None:
        raise ProviderError(f"The state machine rendered from these properties {problem} ({where}).")
    raise PropertyError(
        f"{prop}.{where}" if where else prop, MISSING, problem, "Fix the state machine definition."
    )
