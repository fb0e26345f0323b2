"""Where a process's Prometheus metrics are served: never on the API's own port.

`METRICS_PORT` (0: off) on `METRICS_HOST` serves this process's own metrics (prometheus_client's
registry: the API's requests and webhooks, the worker's orders) at `/metrics`; the Temporal SDK's
metrics (its client's, and the worker's polls, tasks and slots) are served by the SDK's runtime
itself, on the next port, `METRICS_PORT + 1`. One runtime and one server per process, whatever
number of clients and apps it makes (the tests make several).
"""

import threading

from prometheus_client import start_http_server
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from mentoring.settings import Settings

_lock = threading.Lock()
_served: set[tuple[str, int]] = set()
_runtimes: dict[str, Runtime] = {}


def sdk_metrics_port(settings: Settings) -> int:
    """The Temporal SDK's metrics port (0: off)."""
    if not settings.metrics_port:
        return 0
    if settings.metrics_port >= 65535:
        raise ValueError("METRICS_PORT + 1 (the Temporal SDK's metrics) must be a port too")
    return settings.metrics_port + 1


def serve_metrics(settings: Settings) -> None:
    """This process's metrics on METRICS_HOST:METRICS_PORT, from now on (once per address)."""
    address = (settings.metrics_host, settings.metrics_port)
    if not settings.metrics_port:
        return
    with _lock:
        if address not in _served:
            start_http_server(settings.metrics_port, addr=settings.metrics_host)
            _served.add(address)


def temporal_runtime(settings: Settings) -> Runtime | None:
    """The Temporal runtime that serves the SDK's metrics on METRICS_PORT + 1; None (the default
    runtime) when metrics are off."""
    port = sdk_metrics_port(settings)
    if not port:
        return None
    bind_address = f"{settings.metrics_host}:{port}"
    with _lock:
        if bind_address not in _runtimes:
            metrics = PrometheusConfig(
                bind_address=bind_address,
                counters_total_suffix=True,
                unit_suffix=True,
                durations_as_seconds=True,
            )
            _runtimes[bind_address] = Runtime(telemetry=TelemetryConfig(metrics=metrics))
        return _runtimes[bind_address]
