"""What CloudFormation's strings were: it turns every number and boolean in a YAML map into a
string. ASL's own numeric and boolean fields are restored by name; the payload a state sends
(Parameters, Arguments, Result, ...) is left alone except for ECS RunTask's, whose types come from
botocore's ECS service model."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

JSONATA = re.compile(r"^\s*\{%.*%\}\s*$", re.S)

NUMBER_FIELDS = frozenset(
    {
        "TimeoutSeconds",
        "HeartbeatSeconds",
        "IntervalSeconds",
        "MaxAttempts",
        "BackoffRate",
        "MaxDelaySeconds",
        "Seconds",
        "ToleratedFailureCount",
        "ToleratedFailurePercentage",
        "MaxConcurrency",
        "MaxItemsPerBatch",
        "MaxInputBytesPerBatch",
        "MaxItems",
        "NumericEquals",
        "NumericLessThan",
        "NumericGreaterThan",
        "NumericLessThanEquals",
        "NumericGreaterThanEquals",
    }
)
BOOLEAN_FIELDS = frozenset(
    {"End", "BooleanEquals", "IsNull", "IsPresent", "IsNumeric", "IsString", "IsBoolean", "IsTimestamp"}
)
# Fields whose content is the user's payload, not ASL structure: never converted by name.
PAYLOAD_FIELDS = frozenset(
    {
        "Parameters",
        "Arguments",
        "Result",
        "ResultSelector",
        "Output",
        "Assign",
        "ItemSelector",
        "Parameters.$",
    }
)


def restore_types(node: Any, key: str = "") -> Any:
    if key in PAYLOAD_FIELDS:
        return node
    if isinstance(node, dict):
        return {k: restore_types(v, k) for k, v in node.items()}
    if isinstance(node, list):
        return [restore_types(v, key) for v in node]
    if isinstance(node, str) and key in NUMBER_FIELDS:
        try:
            number = float(node)
        except ValueError:
            return node  # left for the validator to report
        return int(number) if number.is_integer() and "." not in node else number
    if isinstance(node, str) and key in BOOLEAN_FIELDS and node in ("true", "false"):
        return node == "true"
    return node


@lru_cache(maxsize=1)
def _run_task_shape() -> Any:
    import botocore.session

    return botocore.session.get_session().get_service_model("ecs").operation_model("RunTask").input_shape


def coerce_run_task(payload: dict[str, Any]) -> dict[str, Any]:
    """RunTask's parameters with the types of the ECS API model (`"1"` to 1 where it wants an integer)."""
    return dict(_coerce(payload, _run_task_shape()))


def _coerce(value: Any, shape: Any) -> Any:
    if shape is None:
        return value
    if shape.type_name == "structure" and isinstance(value, dict):
        return _coerce_structure(value, shape)
    if shape.type_name == "list" and isinstance(value, list):
        return [_coerce(item, shape.member) for item in value]
    if isinstance(value, str) and not JSONATA.match(value):
        return _coerce_scalar(value, shape.type_name)
    return value


def _coerce_structure(value: dict[str, Any], shape: Any) -> dict[str, Any]:
    """Members by name, case-insensitively; a `Key.$` (chosen at run time) and unknown keys as they are."""
    members = {name.lower(): member for name, member in shape.members.items()}
    out = {}
    for key, item in value.items():
        member = None if key.endswith(".$") else members.get(key.lower())
        out[key] = item if member is None else _coerce(item, member)
    return out


def _coerce_scalar(value: str, type_name: str) -> Any:
    if type_name in ("integer", "long"):
        try:
            return int(value)
        except ValueError:
            return value
    if type_name == "boolean" and value in ("true", "false"):
        return value == "true"
    return value
