"""Create, update and delete the state machine and its role, exactly as CloudFormation drives them.

Every step is idempotent (Lambda may deliver the same request twice), everything made is tagged
with the stack and logical id that own it, nothing without those tags is ever changed or deleted,
and a failed request removes what it made before it reports FAILED.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aws_lambda_powertools import Logger

from .aws import Aws, AwsError
from .context import SERVICE, Place, default_state_machine_name, role_name_for
from .errors import PropertyError, ProviderError
from .plan import Documents, Plan, make_plan
from .properties import SCHEMA, Properties, parse
from .request import Request
from .settings import Settings

logger = Logger(service=SERVICE, child=True)

POLICY_NAME = "ecs-state-machine"
_STATE_MACHINE_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


@dataclass(frozen=True)
class Outcome:
    physical_id: str
    data: dict[str, str]


class Lifecycle:
    def __init__(
        self,
        aws: Aws,
        place: Place,
        settings: Settings,
        *,
        report_id: Callable[[str], None] = lambda _id: None,
        timed_out: Callable[[], bool] = lambda: False,
    ) -> None:
        self.aws = aws
        self.place = place
        self.settings = settings
        self.role_path = settings.role_path
        self.report_id = report_id
        self.timed_out = timed_out

    # ------------------------------------------------------------------ requests
    def create(self, req: Request) -> Outcome:
        props = parse(req.properties)
        name = props.state_machine_name or default_state_machine_name(
            req.stack_id, req.logical_id, req.request_id
        )
        arn = self.place.state_machine_arn(name)
        plan = make_plan(props, self.place, self.aws, self.settings)
        return self._deploy(req, props, plan, arn, report=True)

    def update(self, req: Request) -> Outcome:
        props = parse(req.properties)
        current_arn = req.physical_id
        owned = self._ownership(current_arn, req) if self.is_state_machine_arn(current_arn) else None
        if owned is False:
            raise ProviderError(
                f"PhysicalResourceId {current_arn} is a state machine this resource does not own "
                "(ownership tags differ); it was left untouched. Remove the resource from the stack."
            )
        plan = make_plan(props, self.place, self.aws, self.settings)
        fresh_name = default_state_machine_name(req.stack_id, req.logical_id, req.request_id)
        if owned is None:
            return self._recreate(req, props, plan, current_arn, fresh_name)

        current_name = current_arn.rsplit(":", 1)[-1]
        old = req.old_properties if isinstance(req.old_properties, dict) else {}
        old_explicit = isinstance(old.get("StateMachineName"), str) and bool(old["StateMachineName"])
        name = props.state_machine_name or (fresh_name if old_explicit else current_name)
        if name == current_name and props.state_machine_type != _old_property(
            req, "StateMachineType", "STANDARD"
        ):
            # The old properties say another type (or cannot say). Only the state machine knows which
            # it has: after a failed Update, the old properties are the ones that failed.
            existing = self._describe(current_arn)
            if existing is None:
                return self._recreate(req, props, plan, current_arn, fresh_name)
            if props.state_machine_type != existing.get("type", "STANDARD"):
                if props.state_machine_name:
                    raise PropertyError(
                        "StateMachineType",
                        props.state_machine_type,
                        f"cannot change while StateMachineName stays {name} (the type is fixed at creation)",
                        "Change StateMachineName too, or remove it, so a new state machine replaces this one.",
                    )
                name = fresh_name
        if name != current_name:
            logger.info("replacing state machine", extra={"old_name": current_name, "new_name": name})
            return self._deploy(req, props, plan, self.place.state_machine_arn(name))
        try:
            return self._update_in_place(req, props, plan, current_arn)
        except AwsError as err:
            # Gone after all: deleted since its tags were read (or its tags outlived it, as moto's do).
            if err.code != "StateMachineDoesNotExist":
                raise
        return self._recreate(req, props, plan, current_arn, fresh_name)

    def delete(self, req: Request) -> None:
        arn = req.physical_id
        if not self.is_state_machine_arn(arn):
            logger.info("nothing to delete: the id is not a state machine of this account and region")
            return
        owned = self._ownership(arn, req)
        if owned:
            # Idempotent: a state machine already being deleted (or gone) needs no special case.
            self._call_ignoring_missing("stepfunctions", "delete_state_machine", arn, stateMachineArn=arn)
        elif owned is False:
            logger.warning("state machine not deleted: it belongs to another stack or resource")
        self._delete_role_if_owned(role_name_for(arn), req)

    def discard(self, req: Request, arn: str) -> None:
        """Remove the state machine `arn` this request made, and its role (ownership checked)."""
        self.delete(Request("Delete", req.stack_id, req.request_id, req.logical_id, physical_id=arn))

    # ------------------------------------------------------------------ steps
    def _deploy(self, req: Request, props: Properties, plan: Plan, arn: str, report: bool = False) -> Outcome:
        """Make (or, on a repeated delivery, bring up to date) the state machine `arn` and its role.

        With `report` (a Create), once the name is known to be free or ours, a failure or timeout
        from then on reports `arn` as the PhysicalResourceId, so the Delete CloudFormation sends
        after a failed Create can find and remove anything left behind. Before that point a failed
        Create reports an id that is not an ARN, so its Delete touches nothing.

        A generated name hashes the RequestId, so only an earlier try of this same request can have
        used it: nothing is read before the writes, and CreateRole's EntityAlreadyExists (or, with
        RoleArn, CreateStateMachine's StateMachineAlreadyExists) is what reveals such a try; only
        then is the state machine read. A name the stack chose may belong to anyone: it is read first.
        """
        name = arn.rsplit(":", 1)[-1]
        explicit = bool(props.state_machine_name)
        role = ("role", role_name_for(arn))
        docs = plan.documents(arn)
        made: list[tuple[str, str]] = []
        try:
            # None: no such state machine (for a generated name: none known of yet).
            existing = self._existing(arn, req) if explicit else None
            if report:
                self.report_id(arn)
            self._check_time()
            role_arn, role_created = self._ensure_role(req, props, docs, arn)
            if not role_created and not props.role_arn and not explicit:
                # The role was there already: an earlier try of this request made it, and perhaps
                # the state machine too.
                existing = self._existing(arn, req)
            if role_created or (existing is None and not props.role_arn):
                # Also a role adopted for a state machine that does not exist: an earlier try of
                # this request made it (its CreateRole answer was lost, or the function died).
                made.append(role)
            if existing is None:
                try:
                    self.aws.call(
                        "stepfunctions",
                        "create_state_machine",
                        f"creating state machine {name}",
                        propagation=True,
                        name=name,
                        definition=docs.definition,
                        roleArn=role_arn,
                        type=props.state_machine_type,
                        loggingConfiguration=docs.logging,
                        tracingConfiguration=docs.tracing,
                        tags=_tag_list(self._desired_tags(req, props), "key", "value"),
                    )
                    made.append(("state_machine", arn))
                except AwsError as err:
                    # An earlier try of this request made it (with another definition since), or,
                    # for a name the stack chose, someone did after it was read.
                    if err.code not in ("StateMachineAlreadyExists", "StateMachineDeleting"):
                        raise
                    existing = self._existing(arn, req)
                    if existing is None:
                        raise
                    if not role_created and role in made:
                        # That state machine was ours already and uses this role: a failure from
                        # here on must not delete the role under it.
                        made.remove(role)
            if existing is not None:
                self._update_state_machine(arn, docs, role_arn)
                self._sync_state_machine_tags(arn, req, props)
            self._check_time()
            return self._outcome(arn, role_arn, plan)
        except BaseException:
            self._undo(made, req)
            raise

    def _recreate(
        self, req: Request, props: Properties, plan: Plan, current_arn: str, fresh_name: str
    ) -> Outcome:
        """The state machine of an Update is gone (deleted out of band): make a new one and report its id."""
        logger.warning("state machine not found on update; creating a new one", extra={"arn": current_arn})
        name = props.state_machine_name or fresh_name
        return self._deploy(req, props, plan, self.place.state_machine_arn(name))

    def _update_in_place(self, req: Request, props: Properties, plan: Plan, arn: str) -> Outcome:
        made: list[tuple[str, str]] = []
        docs = plan.documents(arn)
        try:
            self._check_time()
            role_arn, role_created = self._ensure_role(req, props, docs, arn, expect_existing=True)
            if role_created:
                made.append(("role", role_name_for(arn)))
            self._update_state_machine(arn, docs, role_arn)
        except BaseException:
            self._undo(made, req)
            raise
        if self._desired_tags(req, props) != _old_tags(req):
            self._sync_state_machine_tags(arn, req, props)
        if props.role_arn and _old_property(req, "RoleArn", None) != props.role_arn:
            # Switched from a created role to the stack's own: the created one is no longer used.
            self._delete_role_if_owned(role_name_for(arn), req)
        return self._outcome(arn, role_arn, plan)

    def _check_time(self) -> None:
        """Once the timeout guard has answered, make nothing more; what was made is undone."""
        if self.timed_out():
            raise ProviderError("The provider ran out of time; the timeout answer was already sent.")

    def _update_state_machine(self, arn: str, docs: Documents, role_arn: str) -> None:
        self.aws.call(
            "stepfunctions",
            "update_state_machine",
            f"updating state machine {arn.rsplit(':', 1)[-1]}",
            propagation=True,
            stateMachineArn=arn,
            definition=docs.definition,
            roleArn=role_arn,
            loggingConfiguration=docs.logging,
            tracingConfiguration=docs.tracing,
        )

    def _ensure_role(
        self, req: Request, props: Properties, docs: Documents, arn: str, expect_existing: bool = False
    ) -> tuple[str, bool]:
        """The role the state machine runs with, and whether this call created it. With
        `expect_existing` (an update in place) the role is read first rather than created first."""
        if props.role_arn:
            self._check_trusted(props.role_arn, arn)
            return props.role_arn, False
        name = role_name_for(arn)
        boundary = self.settings.permissions_boundary or props.role_permissions_boundary
        if not self.settings.permissions_boundary:
            logger.warning(
                "no permissions boundary is configured: the role is created without the provider's"
            )
        trust, policy = docs.trust, docs.policy
        desired_tags = self._desired_tags(req, props)
        found = self._get_role(name) if expect_existing else None
        if found is not None:
            role, created = self._adopt_role(name, req, trust, boundary, desired_tags, found), False
        else:
            role, created = self._create_role(name, req, arn, trust, boundary, desired_tags)
        try:
            if policy is not None:
                self.aws.call(
                    "iam",
                    "put_role_policy",
                    f"writing the policy of role {name}",
                    RoleName=name,
                    PolicyName=POLICY_NAME,
                    PolicyDocument=policy,
                )
            elif not created:
                # A state machine that calls nothing (Pass, Wait, Choice only) needs no permission.
                self._call_ignoring_missing(
                    "iam",
                    "delete_role_policy",
                    f"the policy of role {name}",
                    RoleName=name,
                    PolicyName=POLICY_NAME,
                )
        except BaseException:
            if created:
                self._delete_role(name)
            raise
        return str(role["Arn"]), created

    def _create_role(
        self,
        name: str,
        req: Request,
        arn: str,
        trust: str,
        boundary: str | None,
        desired_tags: dict[str, str],
    ) -> tuple[dict[str, Any], bool]:
        """Create the role, or adopt it if it exists already; and whether this call created it."""
        kwargs: dict[str, Any] = {
            "RoleName": name,
            "Path": self.role_path,
            "AssumeRolePolicyDocument": trust,
            "Description": _role_description(arn, req),
            "Tags": _tag_list(desired_tags, "Key", "Value"),
        }
        if boundary:
            kwargs["PermissionsBoundary"] = boundary
        try:
            return dict(self.aws.call("iam", "create_role", f"creating role {name}", **kwargs)["Role"]), True
        except AwsError as err:
            if err.code != "EntityAlreadyExists":
                raise
        return self._adopt_role(name, req, trust, boundary, desired_tags), False

    def _get_role(self, name: str) -> dict[str, Any] | None:
        try:
            return dict(self.aws.call("iam", "get_role", f"reading role {name}", RoleName=name)["Role"])
        except AwsError as err:
            if err.code == "NoSuchEntity":
                return None
            raise

    def _check_trusted(self, role_arn: str, arn: str) -> None:
        """A role the stack hands over must let Step Functions assume it for this state machine, or
        CreateStateMachine fails with the message IAM propagation also gives: fail at once, with
        a Reason, rather than retry as if IAM were catching up."""
        name = role_arn.rsplit("/", 1)[-1]
        try:
            role = self.aws.call("iam", "get_role", f"reading role {name}", RoleName=name)["Role"]
        except AwsError as err:
            if err.code == "NoSuchEntity":
                raise PropertyError(
                    "RoleArn", role_arn, "no such role in this account", "Check the ARN."
                ) from None
            raise
        if role.get("Arn") != role_arn:
            raise PropertyError(
                "RoleArn", role_arn, f"names role {name} on another path", "Use the role's exact ARN."
            )
        if not trusts_step_functions(_policy_document(role.get("AssumeRolePolicyDocument")), arn):
            raise PropertyError(
                "RoleArn",
                role_arn,
                "does not let states.amazonaws.com assume it for this state machine",
                "Allow sts:AssumeRole to the service principal states.amazonaws.com in its trust policy.",
            )

    def _adopt_role(
        self,
        name: str,
        req: Request,
        trust: str,
        boundary: str | None,
        desired_tags: dict[str, str],
        role: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The role exists already (a repeated delivery, or an update): check it is ours, bring it up
        to date, writing only what differs. `role` is the role as just read, if it was."""
        if role is None:
            role = self.aws.call("iam", "get_role", f"reading role {name}", RoleName=name)["Role"]
        role_tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if role.get("Path") != self.role_path or not req.owns(role_tags):
            raise ProviderError(
                f"IAM role {name} exists but does not belong to this resource (path or ownership tags differ). "
                "Rename the state machine (StateMachineName) or delete that role."
            )
        if _policy_document(role.get("AssumeRolePolicyDocument")) != json.loads(trust):
            self.aws.call(
                "iam",
                "update_assume_role_policy",
                f"updating the trust policy of role {name}",
                RoleName=name,
                PolicyDocument=trust,
            )
        current_boundary = (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary and boundary != current_boundary:
            self.aws.call(
                "iam",
                "put_role_permissions_boundary",
                f"setting the permissions boundary of role {name}",
                RoleName=name,
                PermissionsBoundary=boundary,
            )
        elif not boundary and current_boundary:
            self.aws.call(
                "iam",
                "delete_role_permissions_boundary",
                f"removing the permissions boundary of role {name}",
                RoleName=name,
            )
        stale = [k for k in role_tags if k not in desired_tags and k in _old_tag_keys(req)]
        if stale:
            self.aws.call("iam", "untag_role", f"untagging role {name}", RoleName=name, TagKeys=stale)
        if any(role_tags.get(k) != v for k, v in desired_tags.items()):
            self.aws.call(
                "iam",
                "tag_role",
                f"tagging role {name}",
                RoleName=name,
                Tags=_tag_list(desired_tags, "Key", "Value"),
            )
        return dict(role)

    def _sync_state_machine_tags(self, arn: str, req: Request, props: Properties) -> None:
        desired = self._desired_tags(req, props)
        stale = [k for k in _old_tag_keys(req) if k not in desired]
        if stale:
            self.aws.call(
                "stepfunctions",
                "untag_resource",
                "untagging the state machine",
                resourceArn=arn,
                tagKeys=stale,
            )
        self.aws.call(
            "stepfunctions",
            "tag_resource",
            "tagging the state machine",
            resourceArn=arn,
            tags=_tag_list(desired, "key", "value"),
        )

    def _desired_tags(self, req: Request, props: Properties) -> dict[str, str]:
        return {**dict(props.tags), **req.ownership}

    # ------------------------------------------------------------------ reading and removing
    def is_state_machine_arn(self, arn: str) -> bool:
        prefix = self.place.state_machine_arn("")
        name = arn[len(prefix) :] if arn.startswith(prefix) else ""
        return 1 <= len(name) <= 80 and set(name) <= _STATE_MACHINE_NAME_CHARS

    def _describe(self, arn: str) -> dict[str, Any] | None:
        try:
            return dict(
                self.aws.call(
                    "stepfunctions",
                    "describe_state_machine",
                    "reading the state machine",
                    stateMachineArn=arn,
                )
            )
        except AwsError as err:
            if err.code == "StateMachineDoesNotExist":
                return None
            raise

    def _existing(self, arn: str, req: Request) -> dict[str, Any] | None:
        """The state machine `arn` as described, once it is known to be this resource's and not being
        deleted; None if there is none."""
        existing = self._describe(arn)
        if existing is None:
            return None
        name = arn.rsplit(":", 1)[-1]
        if not self._ownership(arn, req, described=True):
            raise PropertyError(
                "StateMachineName",
                name,
                "is already used by another state machine in this account and region",
                "Choose another name, or omit StateMachineName to get a unique one.",
            )
        if existing.get("status") == "DELETING":
            raise ProviderError(
                f"State machine {name} is still being deleted. Wait a minute and deploy again, or rename it."
            )
        return existing

    def _ownership(self, arn: str, req: Request, described: bool = False) -> bool | None:
        """Whether the state machine `arn` is this resource's (its ownership tags), in one read; None
        if it does not exist. Tags that are not ours are told apart from a missing state machine by
        describing it (moto lists a missing one's tags, even those it had), unless `described`
        says it was just found to exist."""
        try:
            listed = self.aws.call(
                "stepfunctions", "list_tags_for_resource", "reading the state machine's tags", resourceArn=arn
            )
        except AwsError as err:
            if err.code in ("ResourceNotFound", "StateMachineDoesNotExist"):
                return False if described else None
            raise
        if req.owns({t["key"]: t["value"] for t in listed.get("tags", [])}):
            return True
        if described:
            return False
        return None if self._describe(arn) is None else False

    def _delete_role_if_owned(self, name: str, req: Request) -> None:
        try:
            role = self.aws.call("iam", "get_role", f"reading role {name}", RoleName=name)["Role"]
        except AwsError as err:
            if err.code == "NoSuchEntity":
                return
            raise
        role_tags = {t["Key"]: t["Value"] for t in role.get("Tags", [])}
        if role.get("Path") != self.role_path or not req.owns(role_tags):
            logger.warning("role not deleted: it belongs to another stack or resource", extra={"role": name})
            return
        self._delete_role(name)

    def _delete_role(self, name: str) -> None:
        """Delete the role and the one inline policy the provider writes (POLICY_NAME). Other inline
        policies are listed and removed only when IAM refuses the deletion because of them."""
        try:
            self._call_ignoring_missing(
                "iam", "delete_role_policy", f"role {name}", RoleName=name, PolicyName=POLICY_NAME
            )
            try:
                self._call_ignoring_missing("iam", "delete_role", f"role {name}", RoleName=name)
            except AwsError as err:
                if err.code != "DeleteConflict":
                    raise
                listed = self.aws.call(
                    "iam", "list_role_policies", f"listing policies of role {name}", RoleName=name
                )
                for policy in listed.get("PolicyNames", []):
                    self._call_ignoring_missing(
                        "iam", "delete_role_policy", f"role {name}", RoleName=name, PolicyName=policy
                    )
                self._call_ignoring_missing("iam", "delete_role", f"role {name}", RoleName=name)
        except AwsError as err:
            if err.code != "NoSuchEntity":
                raise

    def _call_ignoring_missing(self, service: str, operation: str, what: str, **kwargs: Any) -> None:
        try:
            self.aws.call(service, operation, f"deleting {what}", **kwargs)
        except AwsError as err:
            if err.code not in ("NoSuchEntity", "StateMachineDoesNotExist", "ResourceNotFound"):
                raise

    def _undo(self, made: list[tuple[str, str]], req: Request) -> None:
        """Remove what this request made, newest first. Never raises: the original error matters more."""
        for kind, ident in reversed(made):
            try:
                if kind == "state_machine":
                    self._call_ignoring_missing(
                        "stepfunctions", "delete_state_machine", ident, stateMachineArn=ident
                    )
                else:
                    self._delete_role(ident)
                logger.info("removed after failure", extra={"kind": kind, "id": ident})
            except Exception:
                logger.exception("could not remove after failure", extra={"kind": kind, "id": ident})

    def _outcome(self, arn: str, role_arn: str, plan: Plan) -> Outcome:
        return Outcome(
            physical_id=arn,
            data={"Arn": arn, "Name": arn.rsplit(":", 1)[-1], "RoleArn": role_arn, **plan.data},
        )


def _tag_list(tags: dict[str, str], key: str, value: str) -> list[dict[str, str]]:
    return [{key: k, value: v} for k, v in tags.items()]


_UNKNOWN = object()


def _old_property(req: Request, name: str, default: Any) -> Any:
    """Property `name` of the old properties, converted as `parse` converts it (`default` when not
    given); `_UNKNOWN`, which equals nothing, when they cannot say (they may be the ones that failed)."""
    old = req.old_properties
    if not isinstance(old, dict):
        return _UNKNOWN
    value = old.get(name)
    if value is None or (isinstance(value, str | list | dict) and not value):
        return default
    try:
        return SCHEMA[name].convert(name, value)
    except ProviderError:
        return _UNKNOWN


def _old_tags(req: Request) -> dict[str, str] | None:
    """The tags the old properties gave the state machine, ownership included; None if unreadable."""
    old = _old_property(req, "Tags", ())
    return None if old is _UNKNOWN else {**dict(old), **req.ownership}


def _policy_document(document: Any) -> Any:
    """A policy document as IAM returns it: boto3 decodes it; undecoded, it is URL-encoded JSON."""
    if isinstance(document, str):
        try:
            return json.loads(unquote(document))
        except ValueError:
            return document
    return document


def trusts_step_functions(document: Any, state_machine_arn: str) -> bool:
    """Whether a trust policy lets states.amazonaws.com assume the role for `state_machine_arn`.
    Conditions on aws:SourceArn and aws:SourceAccount are read; any other condition is taken to hold
    (IAM has the last word: a role that still refuses is retried as propagation, within the budget)."""
    statements = document.get("Statement", []) if isinstance(document, dict) else []
    for statement in statements if isinstance(statements, list) else [statements]:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        actions = statement.get("Action", [])
        actions = [actions] if isinstance(actions, str) else actions
        principals = (
            (statement.get("Principal") or {}) if isinstance(statement.get("Principal"), dict) else {}
        )
        services = principals.get("Service", [])
        services = [services] if isinstance(services, str) else services
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        if not any(
            s == "states.amazonaws.com" or (s.startswith("states.") and s.endswith(".amazonaws.com"))
            for s in services
        ):
            continue
        if _conditions_hold(statement.get("Condition") or {}, state_machine_arn):
            return True
    return False


def _conditions_hold(conditions: Any, state_machine_arn: str) -> bool:
    from .settings import matches

    context = {"aws:sourcearn": state_machine_arn, "aws:sourceaccount": state_machine_arn.split(":")[4]}
    for operator, entries in conditions.items() if isinstance(conditions, dict) else []:
        for key, expected in entries.items() if isinstance(entries, dict) else []:
            actual = context.get(str(key).lower())
            if actual is None:
                continue
            values = [expected] if isinstance(expected, str) else list(expected)
            like = operator.endswith("Like")
            known = operator.startswith(("StringEquals", "StringLike", "ArnEquals", "ArnLike"))
            if known and not any(matches(v, actual) if like else v == actual for v in values):
                return False
    return True


def _old_tag_keys(req: Request) -> list[str]:
    """Keys of the tags the old properties asked for: the ones an update may remove."""
    old = _old_property(req, "Tags", ()) if req.request_type == "Update" else ()
    return [] if old is _UNKNOWN else [key for key, _ in old]


def _role_description(arn: str, req: Request) -> str:
    text = f"Role of state machine {arn.rsplit(':', 1)[-1]}, made by Custom::EcsStateMachine {req.logical_id}"
    return "".join(ch for ch in text if 32 <= ord(ch) < 127)[:1000]
