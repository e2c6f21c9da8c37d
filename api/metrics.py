"""Prometheus metrics: requests and latency by route, events appended, projection lag and failures."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from infrastructure.bootstrap import System


class Metrics:
    """One registry per app, so that several apps (as in tests) never share counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "ledger_http_requests", "HTTP requests answered.", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "ledger_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
        )
        self.in_flight = Gauge(
            "ledger_http_requests_in_flight", "HTTP requests being answered right now.", registry=self.registry
        )
        self.events_appended = Counter(
            "ledger_events_appended", "Events stored by this process.", registry=self.registry
        )
        self.log_position = Gauge("ledger_log_position", "The last position in the global log.", registry=self.registry)
        self.projection_position = Gauge(
            "ledger_projection_position",
            "The last position each projection has processed.",
            ["projection"],
            registry=self.registry,
        )
        self.projection_lag = Gauge(
            "ledger_projection_lag_events",
            "Events each projection is behind the log.",
            ["projection"],
            registry=self.registry,
        )
        self.projection_failing = Gauge(
            "ledger_projection_failing",
            "1 while a projection cannot apply an event (it stays just before it; see /health), else 0.",
            ["projection"],
            registry=self.registry,
        )
        self.projection_failed_attempts = Counter(
            "ledger_projection_failed_attempts",
            "Failed attempts to apply an event, by projection (as its runner reports them).",
            ["projection"],
            registry=self.registry,
        )
        self._attempts_counted: dict[str, tuple[tuple[str, int], int]] = {}
        """Per projection: the failure (since, event) whose attempts the counter has, and how many."""

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def count_appended(self, position: int, count: int) -> None:
        self.events_appended.inc(count)

    def render(self, system: System) -> bytes:
        """The exposition text, with the log and projection positions (and failures) read now."""
        head = system.projections.head()
        failures = system.projections.failures()
        self.log_position.set(head)
        for name, position in system.projections.positions().items():
            self.projection_position.labels(name).set(position)
            self.projection_lag.labels(name).set(max(0, head - position))
            self.projection_failing.labels(name).set(1 if name in failures else 0)
            attempts = self.projection_failed_attempts.labels(name)
            failure = failures.get(name)
            if failure is not None:
                # The runner counts attempts per failure: add what is new since the last scrape.
                episode = (failure.since.isoformat(), failure.event_position)
                seen, counted = self._attempts_counted.get(name, (episode, 0))
                counted = counted if seen == episode else 0
                if failure.attempts > counted:
                    attempts.inc(failure.attempts - counted)
                self._attempts_counted[name] = (episode, max(counted, failure.attempts))
        return generate_latest(self.registry)
