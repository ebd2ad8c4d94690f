"""Fault injection over a scripted workload: every crash point, then a redelivery (docs/data-model.md)."""
