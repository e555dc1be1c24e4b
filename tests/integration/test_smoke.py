import json

from tests.integration.conftest import provider_leftovers


def test_create_update_delete(cfn, session, props, estate):
    created = cfn.create(props)
    assert created["Status"] == "SUCCESS", created
    print(json.dumps(created, indent=1))
    sfn = session.client("stepfunctions")
    d = sfn.describe_state_machine(stateMachineArn=created["PhysicalResourceId"])
    print(d["definition"])
    deleted = cfn.delete(created["PhysicalResourceId"], props)
    assert deleted["Status"] == "SUCCESS", deleted
    assert provider_leftovers(session) == ([], [])
