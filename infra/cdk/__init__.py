"""The CDK app's stack and constructs: one construct per concern (docs/deploy.md)."""
