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
