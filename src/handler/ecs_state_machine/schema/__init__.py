"""What the user wrote, parsed and checked: the request, the property schema, value types, converters of CloudFormation's strings, a Definition's ASL, and the rules that need no AWS call."""
