"""End-to-end machinery that plays CloudFormation against the provider.

- ``moto_server``: moto as a separate process on a free loopback port (launched through
  ``moto_process``, which applies ``sfn_ecs_patch`` so that Step Functions can run ECS tasks).
- ``tls``: a throwaway certificate authority and a server certificate for 127.0.0.1.
- ``response_listener``: the HTTPS endpoint behind ``ResponseURL``; records every attempt and can
  answer a programmed sequence of statuses.
- ``lambda_runner`` / ``lambda_bootstrap``: the provider in its own process, imported and called the
  way the AWS Lambda Python runtime does it.
- ``cloudformation``: request events, property stringification, response checks, and the
  CloudFormation sequences (rollback Update, cleanup Delete, Delete after a failed Create).
- ``ecs_world``: the "existing" workload the custom resource points at, and what is left afterwards.
- ``readback``: what the provider made, read back from moto (definitions, role policies, executions,
  ECS tasks).
"""
