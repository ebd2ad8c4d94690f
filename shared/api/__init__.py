"""The /v1 API's response models and use cases; the handler only routes."""
