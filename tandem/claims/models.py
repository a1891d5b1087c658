"""Insurance paperwork beside billing: coverage, diagnoses, session flags, provider numbers, exports.

Who pays and the identified patient stay on billing's `BillingArrangement` (one writer); this app keeps
what only the paperwork needs. Nothing is deleted: a diagnosis list that changes ends the old rows.

- `Coverage` (one per case): the insurer's payer id and the identified patient's member id, and the
  subscriber details a claim needs (sex as on the insurance card, address).
- `Diagnosis`: the case's ICD-10-CM codes, in order (the first is the principal one), from the shipped
  list (`claims.codes.ICD10CM`); replaced rows keep `ended_at`.
- `SessionFlags`: what the CPT code needs beyond the appointment itself (interactive complexity; where the
  patient was for a telehealth session).
- `ProviderNumber`: a therapist's NPI (checked) and taxonomy code.
- `ClaimExport` / `ExportedClaim`: every 837P batch written, and which session charges it claimed (so
  each claim goes once unless resent).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q


class Sex(models.TextChoices):
    FEMALE = "F", "Female"
    MALE = "M", "Male"
    UNKNOWN = "U", "Unknown"


class Coverage(models.Model):
    case = models.OneToOneField("cases.Case", on_delete=models.PROTECT, related_name="coverage")
    payer_id = models.CharField("payer id", max_length=20)
    member_id = models.CharField("member id", max_length=30)
    group_number = models.CharField(max_length=30, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.UNKNOWN)
    address_line = models.CharField(max_length=55)
    city = models.CharField(max_length=30)
    state = models.CharField(max_length=2)
    postal_code = models.CharField(max_length=10)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"Coverage of case {self.case_id}"


class Diagnosis(models.Model):
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="diagnoses")
    code = models.CharField(max_length=8)
    position = models.PositiveSmallIntegerField()
    set_at = models.DateTimeField()
    set_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["case", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["case", "position"], condition=Q(ended_at__isnull=True), name="claims_one_dx_position"
            ),
            models.UniqueConstraint(
                fields=["case", "code"], condition=Q(ended_at__isnull=True), name="claims_dx_once"
            ),
        ]

    def __str__(self) -> str:
        return self.code


class SessionFlags(models.Model):
    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="claim_flags"
    )
    interactive_complexity = models.BooleanField(default=False)
    patient_at_home = models.BooleanField(
        default=True, help_text="For a video or phone session: the patient was at home."
    )
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    def __str__(self) -> str:
        return f"Flags of appointment {self.appointment_id}"


class ProviderNumber(models.Model):
    therapist = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="provider_number"
    )
    npi = models.CharField("NPI", max_length=10, unique=True)
    taxonomy = models.CharField(max_length=10, blank=True)
    updated_at = models.DateTimeField()

    def __str__(self) -> str:
        return self.npi


class ClaimExport(models.Model):
    control_number = models.PositiveIntegerField(unique=True)
    period_from = models.DateField()
    period_to = models.DateField()
    created_at = models.DateTimeField()
    resend = models.BooleanField(default=False)
    claims = models.PositiveIntegerField()

    class Meta:
        ordering = ["-control_number"]

    def __str__(self) -> str:
        return f"837P batch {self.control_number}"


class ExportedClaim(models.Model):
    export = models.ForeignKey(ClaimExport, on_delete=models.PROTECT, related_name="items")
    charge = models.ForeignKey("billing.Charge", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["export", "charge"], name="claims_charge_once_per_export")
        ]

    def __str__(self) -> str:
        return f"Charge {self.charge_id} in {self.export_id}"
