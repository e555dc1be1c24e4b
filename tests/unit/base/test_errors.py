"""Reasons: the property, the value and the fix, within CloudFormation's 256 characters; and the one
place where AWS errors become Reasons."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError, ParamValidationError

from ecs_state_machine.base.errors import (
    MISSING,
    PROPAGATION_MESSAGES,
    PropertyError,
    ProviderError,
    is_propagation_error,
    is_transient,
    translate,
)


def client_error(code: str, message: str = "m") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, "Operation")


def test_a_property_error_names_the_property_shows_the_value_and_says_the_fix():
    err = PropertyError("ContainerName", "web", "is not a container of etl:3", "Use one of: app.")
    assert err.reason == "ContainerName 'web': is not a container of etl:3. Use one of: app."
    assert (err.category, err.prop) == ("property", "ContainerName")
    assert (
        PropertyError("Subnets", MISSING, "is required", "Add them.").reason
        == "Subnets: is required. Add them."
    )


def test_a_long_value_is_shortened_and_the_fix_is_kept_whole():
    fix = "Use a family name, family:revision, or a task definition ARN."
    err = PropertyError("TaskDefinition", "x" * 5000, "is not a task definition " + "y" * 300, fix)
    assert len(err.reason) <= 255 and err.reason.startswith("TaskDefinition 'x") and err.reason.endswith(fix)


def test_control_characters_never_reach_a_reason():
    err = PropertyError("Tags[0].Value", "a\nb\x00c", "is not a valid tag value")
    assert err.reason.isprintable() and "\\x0a" in err.reason


@pytest.mark.parametrize(
    ("err", "start"),
    [
        (
            client_error("AccessDeniedException", "not authorized to perform: states:CreateStateMachine"),
            "The provider was denied creating",
        ),
        (
            client_error("AccessDenied", "not authorized to perform: iam:PassRole on x"),
            "RoleArn: the provider may not pass",
        ),
        (client_error("ThrottlingException", "Rate exceeded"), "AWS kept failing while creating"),
        (client_error("LimitExceeded", "roles"), "An AWS quota was reached while creating"),
        (client_error("ValidationException", "bad"), "AWS refused creating"),
        (EndpointConnectionError(endpoint_url="https://x"), "AWS kept failing while creating"),
        (ParamValidationError(report="bad"), "AWS refused creating"),
    ],
)
def test_aws_errors_become_reasons_an_operator_can_act_on(err, start):
    reason = translate(err, "creating state machine x").reason
    assert reason.startswith(start) and len(reason) <= 255


def test_only_failures_that_can_pass_are_transient():
    assert is_transient(client_error("ThrottlingException")) and is_transient(
        client_error("ServiceUnavailable")
    )
    assert is_transient(EndpointConnectionError(endpoint_url="https://x"))
    assert not is_transient(client_error("AccessDeniedException", PROPAGATION_MESSAGES[0]))
    assert not is_transient(ParamValidationError(report="bad")) and not is_transient(NoCredentialsError())
    assert not is_transient(client_error("ValidationException"))


@pytest.mark.parametrize("message", PROPAGATION_MESSAGES)
def test_the_propagation_messages_are_recognised_in_context(message):
    assert is_propagation_error(client_error("AccessDeniedException", f"x {message} y"))
    assert not is_propagation_error(client_error("ValidationException", message))


def test_a_provider_error_is_already_a_reason():
    err = ProviderError("something")
    assert translate(err, "x") is err and err.category == "provider"
