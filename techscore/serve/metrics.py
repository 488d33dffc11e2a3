"""Prometheus metrics of one service: requests, latency, rejects by reason, the model version served.

Each app gets its own registry, so several apps in one process (tests) never share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

__all__ = ["CONTENT_TYPE", "ServiceMetrics"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
"""Seconds; dense below 10 ms, where the service's target lies."""


class ServiceMetrics:
    """The service's counters, histogram and gauges in a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("techscore_requests", "HTTP requests by route, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.latency = Histogram("techscore_request_seconds", "Request latency by route.", ["route"],
                                 buckets=LATENCY_BUCKETS, registry=self.registry)
        self.decisions = Counter("techscore_decisions", "Firms scored (and recorded in the audit trail).",
                                 registry=self.registry)
        self.rejects = Counter("techscore_rejects", "Rejected records' problems by reject code.", ["code"],
                               registry=self.registry)
        self.model = Gauge("techscore_model_info", "The model served (value 1).",
                           ["name", "version", "catalogue_version"], registry=self.registry)
        self.reloads = Counter("techscore_model_reloads", "Switches to a new model version, and failed "
                               "attempts (outcome: switched, failed).", ["outcome"], registry=self.registry)

    def serving(self, name: str, version: str, catalogue_version: str | None) -> None:
        """Name the model now served (the one before is dropped from `techscore_model_info`)."""
        self.model.clear()
        self.model.labels(name, version, catalogue_version or "").set(1)

    def render(self) -> bytes:
        return generate_latest(self.registry)
