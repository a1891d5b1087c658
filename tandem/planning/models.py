from django.conf import settings
from django.db import models


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Proposal ready"
    FAILED = "failed", "Failed"
    ACCEPTED = "accepted", "Accepted"


class PlanningRun(models.Model):
    """One request to plan the intensive waiting list over a horizon, and what the planner proposed.

    The instance is frozen when the run is queued (what the calendar looked like then); the worker
    fills in the plan and the figures. Instance and plan name couples, therapists and rooms only by
    their database ids (c12, t3, r1), never by name.
    """

    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField()
    first_day = models.DateField()
    last_day = models.DateField()
    time_limit = models.PositiveSmallIntegerField(default=30, help_text="Seconds the solver may take.")
    status = models.CharField(max_length=10, choices=RunStatus.choices, default=RunStatus.QUEUED)
    instance = models.JSONField()
    couples = models.PositiveIntegerField(default=0, help_text="Couples on the waiting list of this run.")
    scheduled = models.PositiveIntegerField(null=True, blank=True)
    plan = models.JSONField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    claimed_by = models.CharField(max_length=100, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The plan's figures (docs/intensive-planning.md), for the solver and for first come, first served.
    weight = models.PositiveIntegerField(null=True, blank=True)
    weighted_wait = models.PositiveIntegerField(null=True, blank=True)
    weight_bound = models.PositiveIntegerField(null=True, blank=True)
    seconds = models.FloatField(null=True, blank=True)
    baseline_weight = models.PositiveIntegerField(null=True, blank=True)
    baseline_wait = models.PositiveIntegerField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True, blank=True)
    # Per couple id: {"series": id} when booked at acceptance, {"error": message} when refused.
    outcome = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["status", "requested_at"], name="planning_run_status_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")), name="planning_run_horizon_order"
            ),
        ]

    def __str__(self) -> str:
        return f"Planning run #{self.pk}"

    @property
    def is_pending(self) -> bool:
        return self.status in (RunStatus.QUEUED, RunStatus.RUNNING)


class WaitingCase(models.Model):
    """A case on the intensive waiting list, kept so that the planner's page counts the list without
    asking every open case with an intensive plan for its latest version.

    The list's definition is `waiting.intensive_waiting_list` (which the planning runs and the booking of
    an accepted block still read); `waiting.waiting_refresh` is this table's one writer, run after each
    change to a case's phase, plans or intensive bookings commits (`tandem.lib.later`).
    """

    case = models.OneToOneField("cases.Case", primary_key=True, on_delete=models.CASCADE, related_name="+")

    def __str__(self) -> str:
        return f"Waiting for an intensive: case {self.case_id}"
