"""`ecs-state-machine plan` and `drift`: what each Custom::EcsStateMachine of a template will become,
planned with the provider's own planning, and what changed since a deploy. Reads only (Describe,
Get and List calls, and STS GetCallerIdentity); never writes to AWS. Not part of the Lambda bundle."""
