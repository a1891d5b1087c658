from django.db import models


class WorkerHeartbeat(models.Model):
    """The last sign of life of one background worker (host:pid), for the health endpoint.

    Written before every pass; removed when the worker stops cleanly. A worker that crashed leaves a row
    that stops moving.
    """

    name = models.CharField(max_length=120, unique=True)
    kind = models.CharField(max_length=30)
    beat_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["kind", "-beat_at"], name="heartbeat_kind_idx")]

    def __str__(self) -> str:
        return f"{self.kind} worker {self.name}"
