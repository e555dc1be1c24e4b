"""What the tests, the benchmark and the demo share: stand-ins for CloudFormation and AWS."""
