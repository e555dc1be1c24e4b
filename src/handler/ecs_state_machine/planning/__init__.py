"""From typed properties to every document a deploy writes: resolution and preflight (reads only), rendering, IAM's size limits, Step Functions' verdict. Never a write."""
