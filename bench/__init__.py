"""`python -m bench` (`make bench`): the figures issue 2 asks for, measured in one run.

DynamoDB round trips per contact, the processor's per-contact time with a small
and a large table, and the cold import time of every function. How to read the
numbers and what was measured on the project's machines: docs/benchmarks.md.
"""
