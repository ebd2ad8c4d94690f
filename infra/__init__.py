"""Infrastructure: the topology declaration, the CDK app and the local runtime."""
