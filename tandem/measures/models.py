from django.conf import settings
from django.db import models


class Instrument(models.Model):
    """A questionnaire in the clinic's library, loaded from its definition file (see loader.py)."""

    code = models.CharField(max_length=20, unique=True)
    version = models.CharField(max_length=20)
    title = models.CharField(max_length=200)
    # The whole definition: FHIR Questionnaire plus scoring rules, as the engine reads it.
    definition = models.JSONField()
    licence_note = models.TextField(blank=True)
    has_licensed_wording = models.BooleanField(
        default=False, help_text="True once the clinic has imported its licensed item wording."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Response(models.Model):
    """One completed (or partly completed) questionnaire, scored when it was stored."""

    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="responses")
    # Scores stay tied to the rules that produced them, even after the library is updated.
    instrument_version = models.CharField(max_length=20)
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="measure_responses")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="measure_responses")
    answered_at = models.DateTimeField()
    answers = models.JSONField(help_text="Scored values keyed by item linkId; null for a missing item.")
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    total = models.DecimalField(max_digits=6, decimal_places=1, null=True, blank=True)
    band = models.CharField(max_length=40, blank=True)
    domains = models.JSONField(default=dict)
    flags = models.JSONField(default=list)
    missing = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-answered_at", "-id"]
        indexes = [
            models.Index(fields=["case", "client", "instrument", "-answered_at"], name="response_series_idx")
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} {self.answered_at:%Y-%m-%d}"


class MeasureRequest(models.Model):
    """One questionnaire the clinic's policy asks of one client on one occasion (see schedule.py).

    `occasion` is a stable key ("intake", "assessment_end", "session:8", "intensive_day:2026-11-23",
    "intensive_end", "follow_up:12"): scheduling again never makes a second row for the same occasion.
    Open means neither completed nor cancelled.
    """

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="measure_requests")
    client = models.ForeignKey("cases.Client", on_delete=models.CASCADE, related_name="measure_requests")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="requests")
    occasion = models.CharField(max_length=60)
    reason = models.CharField(max_length=120)
    due_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    response = models.ForeignKey(
        Response, null=True, blank=True, on_delete=models.SET_NULL, related_name="requests"
    )
    completed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancelled_reason = models.CharField(max_length=120, blank=True)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "client", "instrument", "occasion"], name="measure_request_once"
            )
        ]
        indexes = [
            models.Index(fields=["client", "due_on"], name="measure_request_client_idx"),
            models.Index(fields=["case", "due_on"], name="measure_request_case_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.instrument.code} {self.occasion} ({self.due_on})"

    @property
    def is_open(self) -> bool:
        return self.completed_at is None and self.cancelled_at is None


class SafetyAlert(models.Model):
    """A response that raised a safety flag; stays on the therapists' Today page until acknowledged."""

    response = models.OneToOneField(Response, on_delete=models.PROTECT, related_name="safety_alert")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="safety_alerts")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="+")
    flags = models.JSONField(default=list)
    created_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["case", "acknowledged_at"], name="safety_alert_open_idx")]

    def __str__(self) -> str:
        return f"Safety alert {self.pk} ({self.case})"


class CoupleReportShare(models.Model):
    """The therapist's decision to show both partners the couple report (couple-measure scores only)."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="couple_report_shares")
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    shared_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-shared_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(revoked_at__isnull=True), name="couple_report_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"Couple report shared ({self.case})"
