"""Custom::EcsStateMachine: run an existing ECS task definition from AWS Step Functions."""

# The one place the release's version lives (semantic versioning). template.yaml's SAR metadata,
# CHANGELOG.md and pyproject.toml are checked against it by the tests.
__version__ = "1.0.0"
