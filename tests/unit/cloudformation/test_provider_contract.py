"""`Provider` replaces parts of crhelper's CfnResource (its constructor, its sender, its timeout
guard, its Delete pause, its dispatch). Those are crhelper's private methods: these tests fail as
soon as crhelper's private contract changes, so that a crhelper upgrade is reviewed, not assumed."""

from __future__ import annotations

import ast
import inspect
import textwrap
from importlib import metadata

import pytest
from crhelper import CfnResource

from ecs_state_machine.cloudformation.provider import Provider

# The crhelper release the overrides were written against (src/handler/requirements.txt pins it).
CRHELPER = "2.0.12"

# Each method Provider overrides, with crhelper's own parameter names.
OVERRIDDEN = {
    "__call__": ["self", "event", "context"],
    "_log_setup": ["self", "event", "context"],
    "_wait_for_cwlogs": ["self", "sleep"],
    "_get_func": ["self"],
    "_wrap_function": ["self", "func"],
    "_poll_enabled": ["self"],
    "_set_timeout": ["self"],
    "_timeout": ["self"],
    "_send": ["self", "status", "reason", "send_response"],
    "generate_physical_id": ["self", "event"],
}

# What crhelper's request path calls, which the overrides rely on being called.
CALLS = {
    "__call__": {
        "_log_setup",
        "_crhelper_init",
        "_poll_enabled",
        "_wait_for_cwlogs",
        "_cfn_response",
        "_send",
    },
    "_crhelper_init": {"_set_timeout", "_wrap_function", "_get_func", "_send"},
    "_cfn_response": {"generate_physical_id", "_send"},
}


def self_calls(function: object) -> set[str]:
    tree = ast.parse(textwrap.dedent(inspect.getsource(function)))  # type: ignore[arg-type]
    return {
        node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == "self"
    }


def test_crhelper_is_the_release_the_overrides_were_written_for():
    assert metadata.version("crhelper") == CRHELPER


@pytest.mark.parametrize(("name", "parameters"), OVERRIDDEN.items())
def test_each_overridden_method_exists_in_crhelper_with_the_same_parameters(name, parameters):
    original = getattr(CfnResource, name)
    assert list(inspect.signature(original).parameters) == parameters
    assert getattr(Provider, name) is not original, f"Provider no longer overrides {name}"


@pytest.mark.parametrize(("name", "expected"), CALLS.items())
def test_crhelpers_request_path_still_calls_the_overridden_hooks(name, expected):
    assert expected <= self_calls(getattr(CfnResource, name))


def test_every_attribute_crhelpers_constructor_sets_is_set_without_running_it():
    """Provider does not run CfnResource.__init__ (three boto3 clients, the root logger): whatever
    crhelper's methods read from `self` must still be there."""
    tree = ast.parse(textwrap.dedent(inspect.getsource(CfnResource.__init__)))
    assigned = {
        target.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Attribute)
        and isinstance(target.value, ast.Name)
        and target.value.id == "self"
    }
    provider = Provider()
    unused = {"_log_level", "_boto_level", "_region", "_lambda_client", "_events_client", "_logs_client"}
    missing = sorted(name for name in assigned - unused if not hasattr(provider, name))
    assert not missing, f"set by CfnResource.__init__, not by Provider: {missing}"
    assert not any(
        hasattr(provider, client) for client in ("_lambda_client", "_events_client", "_logs_client")
    )
