"""The only writers: roles, managed policies, state machines, versions and aliases, written as a plan says, with the undo of a failed request."""
