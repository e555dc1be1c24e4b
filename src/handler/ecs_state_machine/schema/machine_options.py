"""The state machine's own options beyond its definition, as AWS::StepFunctions::StateMachine names
them: encryption at rest (EncryptionConfiguration) and versions and aliases (PublishVersion,
VersionDescription, AliasName, VersionsToKeep). Typed values and the converters that make them
from what CloudFormation delivers."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..base.errors import MISSING, PropertyError
from .converters import choice, fields, integer, string

ENCRYPTION_TYPES = ("AWS_OWNED_KEY", "CUSTOMER_MANAGED_KMS_KEY")
REUSE_DEFAULT = 300
_KEY = re.compile(
    r"^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|mrk-[0-9a-f]{32}"
    r"|alias/[A-Za-z0-9/_-]{1,250}"
    r"|arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:(?:key/(?:[0-9a-f-]{36}|mrk-[0-9a-f]{32})|alias/[A-Za-z0-9/_-]{1,250}))$"
)
_ALIAS = re.compile(r"^(?=.*[A-Za-z_-])[A-Za-z0-9_-]{1,80}$")
_DESCRIPTION = re.compile(r"^[^\x00-\x1f]{1,256}$")


@dataclass(frozen=True)
class EncryptionConfig:
    type: str
    kms_key_id: str | None = None  # as given: key id, key ARN, alias name or alias ARN
    reuse_seconds: int | None = None

    @property
    def customer_managed(self) -> bool:
        return self.type == "CUSTOMER_MANAGED_KMS_KEY"


def encryption_config(prop: str, raw: Any) -> EncryptionConfig:
    item = fields(prop, raw, ("Type", "KmsKeyId", "KmsDataKeyReusePeriodSeconds"), required=("Type",))
    kind = choice(f"{prop}.Type", item["Type"], ENCRYPTION_TYPES)
    if kind == "AWS_OWNED_KEY":
        for key in ("KmsKeyId", "KmsDataKeyReusePeriodSeconds"):
            if key in item:
                raise PropertyError(
                    f"{prop}.{key}", MISSING, "applies only to Type CUSTOMER_MANAGED_KMS_KEY", "Remove it."
                )
        return EncryptionConfig(kind)
    if "KmsKeyId" not in item:
        raise PropertyError(
            f"{prop}.KmsKeyId",
            MISSING,
            "is required with Type CUSTOMER_MANAGED_KMS_KEY",
            "Give the key's ARN, its alias (alias/name) or the alias ARN.",
        )
    key = string(
        f"{prop}.KmsKeyId",
        item["KmsKeyId"],
        _KEY,
        "a KMS key id, key ARN, alias name or alias ARN",
        "Use e.g. alias/state-machines or arn:aws:kms:us-east-1:123456789012:key/<id>.",
    )
    reuse = (
        integer(f"{prop}.KmsDataKeyReusePeriodSeconds", item["KmsDataKeyReusePeriodSeconds"], 60, 900)
        if "KmsDataKeyReusePeriodSeconds" in item
        else REUSE_DEFAULT
    )
    return EncryptionConfig(kind, key.strip(), reuse)


def alias_name(prop: str, raw: Any) -> str:
    return string(
        prop, raw, _ALIAS, "an alias name", "Use 1-80 letters, digits, - or _ (not only digits)."
    ).strip()


def version_description(prop: str, raw: Any) -> str:
    return string(prop, raw, _DESCRIPTION, "a description", "Use up to 256 characters of text.")


def versions_to_keep(prop: str, raw: Any) -> int:
    return integer(prop, raw, 1, 1000)
