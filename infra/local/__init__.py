"""The local runtime: the same topology and handlers in one process on 127.0.0.1."""
