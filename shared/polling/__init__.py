"""The X poller (xMode polling): reads X API v2 mentions and DM events on a schedule into the ingest queue."""
