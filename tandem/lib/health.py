"""Health checks for load balancers and monitoring (django-health-check), beyond its database and cache:
migrations applied, and a live heartbeat from each kind of background worker.

Messages name no host, no person and nothing from the database beyond counts and ages.
"""

import dataclasses
import datetime as dt

from django.conf import settings
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone
from health_check.base import HealthCheck
from health_check.exceptions import ServiceUnavailable


def _close_thread_connection(alias: str) -> None:
    # Checks run in the view's executor threads, which no request cycle tidies up: close what they opened.
    connections[alias].close()


@dataclasses.dataclass
class Migrations(HealthCheck):
    """Every migration the code knows is applied (a deploy that skipped `migrate` is not healthy)."""

    alias: str = "default"

    def run(self) -> None:
        try:
            executor = MigrationExecutor(connections[self.alias])
            plan = executor.migration_plan(executor.loader.graph.leaf_nodes())
        finally:
            _close_thread_connection(self.alias)
        if plan:
            raise ServiceUnavailable(f"{len(plan)} migration(s) not applied")


@dataclasses.dataclass
class Worker(HealthCheck):
    """At least one worker of this kind beat within WORKER_HEARTBEAT_STALE_SECONDS. A stopped or hung
    worker stops beating; when it was the only one of its kind, the practice is unhealthy."""

    kind: str = "notify"

    def run(self) -> None:
        from tandem.lib.models import WorkerHeartbeat

        stale_after = dt.timedelta(seconds=settings.WORKER_HEARTBEAT_STALE_SECONDS)
        now = timezone.now()
        try:
            last = WorkerHeartbeat.objects.filter(kind=self.kind).order_by("-beat_at").first()
        finally:
            _close_thread_connection("default")
        if last is None:
            raise ServiceUnavailable(f"no {self.kind} worker running")
        age = now - last.beat_at
        if age > stale_after:
            raise ServiceUnavailable(
                f"no {self.kind} worker alive: last heartbeat {int(age.total_seconds())} s ago"
            )
