"""Custom::EcsStateMachine: run an existing ECS task definition from AWS Step Functions."""
