"""Shared by the API, the worker, the workflows and the activities: settings, types, tables."""
