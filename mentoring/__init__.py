"""Shared by the API, the worker, the workflows and the activities: settings, types, tables.

It imports none of them, nor the dev runner (devstack/): they import it (tests/test_layers.py)."""
