"""Replies on the customer's channel: the /v1 use case, the sender's state machine, one module per provider."""
