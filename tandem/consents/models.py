"""Consent documents (versioned texts written by the clinic) and each partner's signature on one of them.

A consent is requested for one partner of one case against one document version, signed by that partner
(in the portal, or on a staff device with a staff member as witness) and may later be revoked. Rows are
never deleted: a revoked or expired consent stays as evidence of what was agreed when.
"""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from tandem.lib.time import local_day_bounds, practice_zone


class ConsentKind(models.TextChoices):
    TREATMENT = "treatment", "Consent to treatment"
    CONFIDENTIALITY = "confidentiality", "Couple confidentiality policy"
    TELEHEALTH = "telehealth", "Telehealth consent"
    RELEASE = "release", "Release of information"


class ConfidentialityMode(models.TextChoices):
    NO_SECRETS = "no_secrets", "No secrets"
    LIMITED_SECRETS = "limited_secrets", "Limited secrets"


class ReleaseCategory(models.TextChoices):
    """What a release of information may cover, in words a client understands."""

    APPOINTMENTS = "appointments", "Appointments and attendance"
    TREATMENT_PLAN = "treatment_plan", "Treatment plan and referrals"
    NOTES = "notes", "Signed session notes"
    MEASURES = "measures", "Questionnaire answers and scores"


class SignMethod(models.TextChoices):
    PORTAL = "portal", "Signed in the portal"
    STAFF_DEVICE = "staff_device", "Signed on a staff device"


class ConsentDocument(models.Model):
    """One version of one consent text. A change of wording is a new version; signed versions never change."""

    kind = models.CharField(max_length=20, choices=ConsentKind.choices)
    version = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200)
    text = models.TextField()
    effective_on = models.DateField(help_text="From this local day on, new requests use this version.")

    class Meta:
        ordering = ["kind", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "version"], name="consentdoc_kind_version"),
        ]

    def __str__(self) -> str:
        return f"{self.title} (version {self.version})"

    @property
    def code(self) -> str:
        return f"{self.kind}-v{self.version}"


class ConsentQuerySet(models.QuerySet["Consent"]):
    def valid_on(self, day: dt.date) -> "ConsentQuerySet":
        """Signed by the end of local `day`, not revoked by then, and (for a release) not expired."""
        _, end = local_day_bounds(day)
        return self.filter(
            Q(signed_at__lt=end),
            Q(revoked_at__isnull=True) | Q(revoked_at__gte=end),
            Q(valid_until__isnull=True) | Q(valid_until__gte=day),
        )


class Consent(models.Model):
    """One partner's consent on one case against one document version: requested, signed, maybe revoked."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="consents")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="consents")
    document = models.ForeignKey(ConsentDocument, on_delete=models.PROTECT, related_name="consents")
    requested_at = models.DateTimeField()
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    # Release of information only: to whom, what, until when.
    recipient = models.CharField(max_length=200, blank=True)
    recipient_detail = models.CharField(
        max_length=300, blank=True, help_text="Organisation, address or role of the recipient."
    )
    categories = models.JSONField(default=list, blank=True)
    valid_until = models.DateField(null=True, blank=True)

    # Confidentiality policy only, when the case has no policy of its own in the records app.
    confidentiality_mode = models.CharField(max_length=20, choices=ConfidentialityMode.choices, blank=True)

    signed_at = models.DateTimeField(null=True, blank=True)
    signed_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    method = models.CharField(max_length=20, choices=SignMethod.choices, blank=True)
    typed_name = models.CharField(max_length=200, blank=True, help_text="The full name typed as signature.")
    signed_ip = models.GenericIPAddressField(null=True, blank=True)

    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    revoke_reason = models.TextField(blank=True)

    # The pathway's own consent-to-treatment record that signing created (withdrawn again on revocation).
    pathway_record = models.OneToOneField(
        "pathway.TreatmentConsent", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = ConsentQuerySet.as_manager()

    class Meta:
        ordering = ["-requested_at", "-id"]
        indexes = [models.Index(fields=["case", "client"], name="consent_case_client_idx")]
        constraints = [
            models.CheckConstraint(
                condition=Q(signed_at__isnull=True) | (~Q(method="") & ~Q(typed_name="")),
                name="consent_signature_complete",
            ),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | Q(signed_at__isnull=False),
                name="consent_revoked_after_signing",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.document.code} for client {self.client_id} ({self.case_id})"

    @property
    def kind(self) -> str:
        return self.document.kind

    def status_on(self, day: dt.date) -> str:
        if self.revoked_at is not None and timezone.localdate(self.revoked_at, practice_zone()) <= day:
            return "revoked"
        if self.valid_until is not None and self.valid_until < day:
            return "expired"
        return "requested" if self.signed_at is None else "signed"

    @property
    def category_labels(self) -> list[str]:
        labels = dict(ReleaseCategory.choices)
        return [str(labels.get(c, c)) for c in self.categories]
