"""CloudFormation's side: crhelper's request lifecycle, the authenticity of a request, the decisions of Create, Update and Delete, and the response."""
