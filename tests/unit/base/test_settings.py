"""The administrator's settings, as the function's environment carries them."""

from __future__ import annotations

import pytest

from ecs_state_machine.base.settings import Settings, matches


def test_missing_variables_take_the_secure_defaults():
    settings = Settings.from_environment({})
    assert settings.allow_policy_statements is False
    assert settings.passable_role_pattern == ""
    assert settings.permissions_boundary is None
    assert settings.task_role_pattern == "*"
    assert settings.log_group_pattern == "/aws/vendedlogs/states/*"
    assert settings.allowed_response_hosts == ()
    assert settings.role_path == "/ecs-state-machine/"


def test_what_the_provider_stack_sets_is_read():
    settings = Settings.from_environment(
        {
            "ROLE_PATH": "sfn",
            "PERMISSIONS_BOUNDARY": "arn:aws:iam::123456789012:policy/b",
            "ALLOW_POLICY_STATEMENTS": "true",
            "PASSABLE_ROLE_PATTERN": "sfn/*",
            "TASK_ROLE_PATTERN": "",
            "ALLOWED_RESPONSE_HOSTS": " 127.0.0.1:8443 , Localhost ",
            "AWS_SAM_LOCAL": "true",
        }
    )
    assert settings.role_path == "/sfn/"
    assert settings.permissions_boundary == "arn:aws:iam::123456789012:policy/b"
    assert settings.allow_policy_statements and settings.sam_local
    assert settings.passable_role_pattern == "sfn/*" and settings.task_role_pattern == "*"
    assert settings.allowed_response_hosts == ("127.0.0.1:8443", "localhost")


@pytest.mark.parametrize("value", ["StateMachineRoleBoundary", "", "  "])
def test_a_boundary_that_is_not_an_arn_is_no_boundary(value):
    """`sam local invoke` resolves a Ref to the stack's own boundary as its logical id."""
    assert Settings.from_environment({"PERMISSIONS_BOUNDARY": value}).permissions_boundary is None


@pytest.mark.parametrize(
    ("pattern", "text", "matched"),
    [
        ("*", "anything/at/all", True),
        ("sfn/*", "sfn/nightly", True),
        ("sfn/*", "sfn-admin", False),
        ("batch-?", "batch-1", True),
        ("batch-?", "batch-10", False),
        ("a.b", "aXb", False),
        ("[ab]", "a", False),
        ("", "", False),
    ],
)
def test_patterns_match_as_iam_wildcards(pattern, text, matched):
    assert matches(pattern, text) is matched
