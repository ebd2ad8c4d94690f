"""CRM sync events: what the table's stream becomes on the EventBridge bus (docs/events.md).

`models` holds the envelope and one model per event type (their JSON Schemas are
committed under docs/schemas/), `derivation` turns one stored change into its
events (pure), `publisher` puts them on the bus or, locally, into a JSON Lines file.
"""
