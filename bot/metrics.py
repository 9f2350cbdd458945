"""Prometheus metrics of one running bot (its own registry, so tests can run several)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    """Counters and gauges exposed at ``GET /metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.updates_handled = Counter(
            "fundwatch_updates_handled", "Updates handled", ["kind"], registry=self.registry
        )
        self.updates_duplicate = Counter(
            "fundwatch_updates_duplicate", "Redelivered updates skipped", registry=self.registry
        )
        self.handler_errors = Counter("fundwatch_handler_errors", "Handler errors", registry=self.registry)
        self.outbox_messages = Gauge(
            "fundwatch_outbox_messages", "Outbox rows by status", ["status"], registry=self.registry
        )
        self.outbox_sent = Counter("fundwatch_outbox_sent", "Notifications sent", registry=self.registry)
        self.outbox_failed = Counter(
            "fundwatch_outbox_failed", "Notifications failed for good", registry=self.registry
        )
        self.outbox_retries = Counter(
            "fundwatch_outbox_retries", "Notification send attempts to retry", ["reason"], registry=self.registry
        )
        self.send_latency = Histogram(
            "fundwatch_send_latency_seconds",
            "Time from a notification's creation to its delivery",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
            registry=self.registry,
        )
        for status in ("pending", "sent", "failed", "skipped"):
            self.outbox_messages.labels(status=status).set(0)
        self.role = Gauge(
            "fundwatch_role", "1 for the role this process has now: active, or standby behind another process",
            ["role"], registry=self.registry,
        )
        self.role_changes = Counter(
            "fundwatch_role_changes", "Times this process took or gave up the active role", registry=self.registry
        )
        self._role: str | None = None  # the first role set is not a change
        for name in ("active", "standby"):
            self.role.labels(role=name).set(0)

    def set_role(self, role: str) -> None:
        """Export the process's role (bot/standby.py): ``active`` or ``standby``."""
        if self._role is not None and role != self._role:
            self.role_changes.inc()
        self._role = role
        for name in ("active", "standby"):
            self.role.labels(role=name).set(1 if name == role else 0)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
