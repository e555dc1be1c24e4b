"""Generic converters from what CloudFormation delivers (every scalar a string, recursively inside
lists and maps) to typed values, each raising a PropertyError that names the property, shows the
value and says the fix. Nothing here knows this resource's properties."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ..base.errors import MISSING, PropertyError

TRUE = ("true", "True", "TRUE", "1", "yes")
FALSE = ("false", "False", "FALSE", "0", "no")

Converter = Callable[[str, Any], Any]


def string(prop: str, raw: Any, pattern: re.Pattern[str] | None = None, what: str = "", fix: str = "") -> str:
    if isinstance(raw, bool) or not isinstance(raw, str | int | float):
        raise PropertyError(prop, raw, f"must be a string{', ' + what if what else ''}", fix)
    text = str(raw)
    if pattern is not None and not pattern.fullmatch(text):
        raise PropertyError(prop, text, f"is not {what}" if what else "is not valid", fix)
    return text


def boolean(prop: str, raw: Any) -> bool:
    if isinstance(raw, bool):
        return raw
    if isinstance(raw, str) and raw.strip() in TRUE:
        return True
    if isinstance(raw, str) and raw.strip() in FALSE:
        return False
    raise PropertyError(prop, raw, "is not a boolean", "Use true or false.")


def integer(prop: str, raw: Any, low: int, high: int) -> int:
    if isinstance(raw, bool):
        raise PropertyError(prop, raw, "is not a whole number", f"Use a number from {low} to {high}.")
    try:
        value = int(raw) if isinstance(raw, int) else int(str(raw).strip())
    except ValueError:
        try:
            as_float = float(str(raw).strip())
        except ValueError:
            as_float = float("nan")
        if as_float.is_integer():
            value = int(as_float)
        else:
            raise PropertyError(
                prop, raw, "is not a whole number", f"Use a number from {low} to {high}."
            ) from None
    if not low <= value <= high:
        raise PropertyError(prop, raw, "is out of range", f"Use a number from {low} to {high}.")
    return value


def number(prop: str, raw: Any, low: float, high: float) -> int | float:
    if isinstance(raw, bool):
        raise PropertyError(prop, raw, "is not a number", f"Use a number from {low} to {high}.")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise PropertyError(prop, raw, "is not a number", f"Use a number from {low} to {high}.") from None
    if value != value or not low <= value <= high:  # NaN or out of range
        raise PropertyError(prop, raw, "is out of range", f"Use a number from {low} to {high}.")
    return int(value) if value.is_integer() else value


def choice(prop: str, raw: Any, allowed: tuple[str, ...]) -> str:
    text = string(prop, raw, fix=f"Use one of: {', '.join(allowed)}.")
    if text not in allowed:
        folded = {choice.upper(): choice for choice in allowed}
        if text.upper() in folded:  # be forgiving about case, as the AWS console is
            return folded[text.upper()]
        raise PropertyError(prop, text, "is not a valid choice", f"Use one of: {', '.join(allowed)}.")
    return text


def items(prop: str, raw: Any, low: int, high: int) -> list[Any]:
    if isinstance(raw, str) and "," in raw and low <= len(raw.split(",")) <= high:
        # A comma-separated string (from a CommaDelimitedList parameter joined by hand).
        raw = [part.strip() for part in raw.split(",")]
    elif isinstance(raw, str) and raw:
        raw = [raw]
    if not isinstance(raw, list):
        raise PropertyError(prop, raw, "must be a list", f"Give {low} to {high} items as a YAML/JSON list.")
    if not low <= len(raw) <= high:
        raise PropertyError(
            prop, f"{len(raw)} items", "has the wrong number of items", f"Give {low} to {high}."
        )
    return raw


def fields(prop: str, raw: Any, allowed: tuple[str, ...], required: tuple[str, ...] = ()) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise PropertyError(prop, raw, "must be a map", f"Give a map with keys: {', '.join(allowed)}.")
    for key in raw:
        if key not in allowed:
            raise PropertyError(
                f"{prop}.{key}" if isinstance(key, str) else prop,
                MISSING,
                "is not a known key",
                f"Use only: {', '.join(allowed)}.",
            )
    for key in required:
        if key not in raw:
            raise PropertyError(f"{prop}.{key}", MISSING, "is required", f"Add {key} to {prop}.")
    return dict(raw)


def simple(converter: Callable[..., Any], *args: Any) -> Converter:
    return lambda prop, raw: converter(prop, raw, *args)


def pattern(regex: re.Pattern[str], what: str, fix: str) -> Converter:
    return lambda prop, raw: string(prop, raw, regex, what, fix).strip()
