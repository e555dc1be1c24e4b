"""The native resource's options as CloudFormation delivers them: EncryptionConfiguration, and
versions and aliases; what cannot work is refused naming the property."""

from __future__ import annotations

import pytest

from ecs_state_machine.base.errors import PropertyError
from ecs_state_machine.schema.machine_options import EncryptionConfig
from ecs_state_machine.schema.properties import parse

BASE = {"TaskDefinition": "etl", "Subnets": ["subnet-0a1b2c3d"]}


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ({"Type": "AWS_OWNED_KEY"}, EncryptionConfig("AWS_OWNED_KEY")),
        (
            {"Type": "CUSTOMER_MANAGED_KMS_KEY", "KmsKeyId": "alias/sm"},
            EncryptionConfig("CUSTOMER_MANAGED_KMS_KEY", "alias/sm", 300),
        ),
        (
            {
                "Type": "customer_managed_kms_key",
                "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                "KmsDataKeyReusePeriodSeconds": "900",
            },
            EncryptionConfig(
                "CUSTOMER_MANAGED_KMS_KEY",
                "arn:aws:kms:us-east-1:123456789012:key/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
                900,
            ),
        ),
    ],
)
def test_encryption_as_the_native_resource_takes_it(given, expected):
    assert parse({**BASE, "EncryptionConfiguration": given}).encryption == expected


@pytest.mark.parametrize(
    ("extra", "reason"),
    [
        (
            {"EncryptionConfiguration": {"Type": "CUSTOMER_MANAGED_KMS_KEY"}},
            "EncryptionConfiguration.KmsKeyId: is required",
        ),
        (
            {"EncryptionConfiguration": {"Type": "AWS_OWNED_KEY", "KmsKeyId": "alias/x"}},
            "EncryptionConfiguration.KmsKeyId: applies only to Type CUSTOMER_MANAGED_KMS_KEY",
        ),
        (
            {
                "EncryptionConfiguration": {
                    "Type": "CUSTOMER_MANAGED_KMS_KEY",
                    "KmsKeyId": "alias/x",
                    "KmsDataKeyReusePeriodSeconds": "30",
                }
            },
            "EncryptionConfiguration.KmsDataKeyReusePeriodSeconds '30': is out of range",
        ),
        (
            {"EncryptionConfiguration": {"Type": "CUSTOMER_MANAGED_KMS_KEY", "KmsKeyId": "my key"}},
            "EncryptionConfiguration.KmsKeyId 'my key': is not a KMS key id, key ARN, alias name or alias ARN",
        ),
        ({"AliasName": "live"}, "AliasName 'live': needs PublishVersion: true"),
        ({"VersionDescription": "x"}, "VersionDescription 'x': needs PublishVersion: true"),
        ({"VersionsToKeep": "3"}, "VersionsToKeep '3': needs PublishVersion: true"),
        ({"PublishVersion": "true", "AliasName": "123"}, "AliasName '123': is not an alias name"),
        ({"PublishVersion": "true", "VersionsToKeep": "0"}, "VersionsToKeep '0': is out of range"),
    ],
)
def test_what_cannot_work_is_refused_naming_the_property(extra, reason):
    with pytest.raises(PropertyError) as caught:
        parse({**BASE, **extra})
    assert caught.value.reason.startswith(reason), caught.value.reason


def test_versions_to_keep_defaults_to_ten_when_publishing():
    assert parse({**BASE, "PublishVersion": "true"}).keep == 10
    assert parse({**BASE, "PublishVersion": "true", "VersionsToKeep": "3"}).keep == 3
