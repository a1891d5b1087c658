"""The care pathway's records: intake, consent, assessment, referrals, treatment plans, follow-up."""

import datetime as dt

from django.conf import settings
from django.db import models
from django.db.models import Q

from tandem.lib.time import local_today
from tandem.pathway.policy import FOLLOW_UP_DUE_SOON_DAYS


class EnteredBy(models.TextChoices):
    STAFF = "staff", "Entered by staff"
    CLIENT = "client", "Filled in by the client"


class SafetyAnswer(models.TextChoices):
    NO = "no", "No"
    YES = "yes", "Yes"
    UNSURE = "unsure", "Unsure / prefers not to say"


# The answers that may indicate risk.
RISKY_ANSWERS = (SafetyAnswer.YES, SafetyAnswer.UNSURE)


class IntakeRecord(models.Model):
    """One partner's own intake: a separate row per partner, so that (through the portal, later) each
    partner fills in and sees only their part, never the other's."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="intake_records")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="intake_records")
    details_confirmed = models.BooleanField(
        default=False, help_text="Contact details and date of birth were checked with this person."
    )
    relationship_history = models.TextField(blank=True)
    presenting_concerns = models.TextField(blank=True, help_text="In their own words.")
    medications = models.TextField(blank=True, help_text="Current medications.")
    conditions = models.TextField(blank=True, help_text="Conditions relevant to sexual function.")
    safety_afraid_of_partner = models.CharField(max_length=10, choices=SafetyAnswer.choices, blank=True)
    safety_pressured_into_sex = models.CharField(max_length=10, choices=SafetyAnswer.choices, blank=True)
    safety_self_harm_thoughts = models.CharField(max_length=10, choices=SafetyAnswer.choices, blank=True)
    safety_notes = models.TextField(blank=True)
    entered_by = models.CharField(max_length=10, choices=EnteredBy.choices, default=EnteredBy.STAFF)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    # A risk answer stays on the therapist's Today list until a clinician has looked at it; a client who
    # changes their safety answers puts it back there.
    safety_reviewed_at = models.DateTimeField(null=True, blank=True)
    safety_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "client"], name="intake_one_per_partner")]
        # Today's safety answers to review: the practice's few flagged, unreviewed intakes, rather than
        # every intake of the open cases (14 ms for the director at 20,000 cases).
        indexes = [
            models.Index(
                fields=["case", "updated_at"],
                condition=Q(safety_reviewed_at__isnull=True)
                & (
                    Q(safety_afraid_of_partner__in=["yes", "unsure"])
                    | Q(safety_pressured_into_sex__in=["yes", "unsure"])
                    | Q(safety_self_harm_thoughts__in=["yes", "unsure"])
                ),
                name="intake_safety_to_review_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"Intake of {self.client} ({self.case})"

    SAFETY_FIELDS = ("safety_afraid_of_partner", "safety_pressured_into_sex", "safety_self_harm_thoughts")

    @property
    def is_complete(self) -> bool:
        return (
            self.details_confirmed
            and bool(self.presenting_concerns.strip())
            and all(getattr(self, name) for name in self.SAFETY_FIELDS)
        )

    @property
    def safety_flagged(self) -> bool:
        return any(getattr(self, name) in RISKY_ANSWERS for name in self.SAFETY_FIELDS)

    @property
    def safety_to_review(self) -> bool:
        return self.safety_flagged and self.safety_reviewed_at is None


def safety_flagged_q() -> Q:
    """IntakeRecord rows with at least one answer that may indicate risk (the query twin of
    IntakeRecord.safety_flagged)."""
    # In the query text, so that the partial index of Today's list serves a kept plan (lib/lookups.py).
    flagged = Q()
    for name in IntakeRecord.SAFETY_FIELDS:
        flagged |= Q(**{f"{name}__literal_in": RISKY_ANSWERS})
    return flagged


class TreatmentConsent(models.Model):
    """A partner's consent to treatment, against the version of the consent text they were given."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="treatment_consents")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="treatment_consents")
    version = models.CharField(max_length=40)
    given_at = models.DateTimeField()
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["given_at", "id"]

    def __str__(self) -> str:
        return f"Consent of {self.client} ({self.version})"


class AssessmentFindings(models.Model):
    """Psychological and physical contributing factors found for one partner."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="assessment_findings")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="+")
    psychological = models.TextField(blank=True)
    physical = models.TextField(blank=True)
    updated_at = models.DateTimeField()
    updated_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        verbose_name_plural = "assessment findings"
        constraints = [models.UniqueConstraint(fields=["case", "client"], name="findings_one_per_partner")]

    def __str__(self) -> str:
        return f"Findings for {self.client} ({self.case})"


class SpecialistType(models.Model):
    """The clinic's list of specialists and adjunct services it refers to (editable in the admin)."""

    slug = models.SlugField(unique=True)
    label = models.CharField(max_length=120)
    adjunct = models.BooleanField(
        default=False, help_text="An adjunct treatment rather than a medical check."
    )
    active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["sort_order", "label"]

    def __str__(self) -> str:
        return self.label


class Urgency(models.TextChoices):
    ROUTINE = "routine", "Routine"
    SOON = "soon", "Soon"
    URGENT = "urgent", "Urgent"


class ReferralStatus(models.TextChoices):
    SENT = "sent", "Sent"
    APPOINTMENT_MADE = "appointment_made", "Appointment made"
    RESULT_RECEIVED = "result_received", "Result received"


class PhysicalCause(models.TextChoices):
    RULED_IN = "ruled_in", "Physical cause ruled in"
    RULED_OUT = "ruled_out", "Physical cause ruled out"
    INCONCLUSIVE = "inconclusive", "Inconclusive"


# The statuses of a referral still waiting for its result (written into the query text, so that the
# partial index below serves a kept plan too: tandem/lib/lookups.py).
AWAITING_RESULT = (ReferralStatus.SENT, ReferralStatus.APPOINTMENT_MADE)


class ReferralQuerySet(models.QuerySet["Referral"]):
    def awaiting_result(self) -> "ReferralQuerySet":
        return self.filter(status__literal_in=AWAITING_RESULT)

    def overdue(self, today: dt.date | None = None) -> "ReferralQuerySet":
        return self.awaiting_result().filter(due_on__lt=today or local_today())


class Referral(models.Model):
    """A referral of one partner to a specialist, tracked until its result is back."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="referrals")
    client = models.ForeignKey("cases.Client", on_delete=models.PROTECT, related_name="referrals")
    specialist_type = models.ForeignKey(SpecialistType, on_delete=models.PROTECT, related_name="referrals")
    reason = models.TextField()
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.ROUTINE)
    status = models.CharField(max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.SENT)
    sent_at = models.DateTimeField()
    # A local day: the result is expected back by then (from the urgency, see pathway.policy).
    due_on = models.DateField()
    referred_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    appointment_on = models.DateField(null=True, blank=True)
    appointment_recorded_at = models.DateTimeField(null=True, blank=True)
    finding = models.TextField(blank=True)
    physical_cause = models.CharField(max_length=20, choices=PhysicalCause.choices, blank=True)
    result_recorded_at = models.DateTimeField(null=True, blank=True)

    objects = ReferralQuerySet.as_manager()

    class Meta:
        ordering = ["sent_at", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="referral_status_due_idx"),
            # Today's overdue referrals of a therapist's cases: a handful of the practice's referrals
            # are waiting, and each of their hundreds of cases is looked up in this small index only.
            models.Index(
                fields=["case", "due_on"],
                condition=Q(status__in=["sent", "appointment_made"]),
                name="referral_awaiting_case_idx",
            ),
        ]
        constraints = [
            # "Result received" without the result is what the referral loop exists to prevent.
            models.CheckConstraint(
                condition=~Q(status="result_received") | (~Q(physical_cause="") & ~Q(finding="")),
                name="referral_result_needs_finding",
            ),
        ]

    def __str__(self) -> str:
        return f"Referral to {self.specialist_type} ({self.case})"

    @property
    def opens_on(self) -> dt.date:
        """The first local day the contact may be recorded as done: its window opens when it is listed as
        due soon, FOLLOW_UP_DUE_SOON_DAYS before its date."""
        return self.due_on - dt.timedelta(days=FOLLOW_UP_DUE_SOON_DAYS)

    @property
    def is_overdue(self) -> bool:
        return self.status != ReferralStatus.RESULT_RECEIVED and self.due_on < local_today()


class TreatmentFormat(models.TextChoices):
    INTENSIVE = "intensive", "Intensive (co-therapy team, daily sessions)"
    STANDARD = "standard", "Standard (weekly sessions)"
    INDIVIDUAL = "individual", "Individual"


class TreatmentPlan(models.Model):
    """One version of a case's treatment plan. A change is a new row: earlier versions stay as they were."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="treatment_plans")
    version = models.PositiveIntegerField()
    format = models.CharField(max_length=20, choices=TreatmentFormat.choices)
    sessions_per_week = models.PositiveSmallIntegerField(null=True, blank=True)
    conjunctive_client = models.ForeignKey(
        "cases.Client",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text="The partner who also has conjunctive individual therapy, if any.",
    )
    goals = models.TextField()
    focus_areas = models.TextField(blank=True)
    change_note = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField()
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-version"]
        # The planner's waiting list starts from the cases with an intensive plan at all, rather than
        # asking every open case of the practice for its latest plan.
        indexes = [
            models.Index(fields=["case"], condition=Q(format="intensive"), name="plan_intensive_case_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["case", "version"], name="plan_unique_version"),
            models.CheckConstraint(
                condition=~Q(format="standard") | Q(sessions_per_week__in=[1, 2]),
                name="plan_standard_has_frequency",
            ),
        ]

    def __str__(self) -> str:
        return f"Plan v{self.version} ({self.case})"


class FollowUpMode(models.TextChoices):
    VISIT = "visit", "Office visit"
    PHONE = "phone", "Telephone contact"


class FollowUpStatus(models.TextChoices):
    OPEN = "open", "To do"
    DONE = "done", "Done"


class FollowUpTaskQuerySet(models.QuerySet["FollowUpTask"]):
    def open(self) -> "FollowUpTaskQuerySet":
        # In the query text, so that the partial index below serves a kept plan (tandem/lib/lookups.py).
        return self.filter(status__literal_in=(FollowUpStatus.OPEN,))


class FollowUpTask(models.Model):
    """One follow-up contact owed to a case after treatment, due on a local day."""

    case = models.ForeignKey("cases.Case", on_delete=models.CASCADE, related_name="follow_ups")
    label = models.CharField(max_length=80)
    mode = models.CharField(max_length=10, choices=FollowUpMode.choices)
    due_on = models.DateField()
    # The date the schedule first gave, kept when the task is rescheduled.
    planned_on = models.DateField()
    status = models.CharField(max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    outcome = models.TextField(blank=True)
    # Why it was recorded before its window opened (see `opens_on`); empty when it was not early.
    early_reason = models.TextField(blank=True)
    created_at = models.DateTimeField()

    objects = FollowUpTaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            models.Index(fields=["status", "due_on"], name="followup_status_due_idx"),
            # Today's follow-ups due on a therapist's cases: only the open tasks, a few per case in follow-up.
            models.Index(
                fields=["case", "due_on"], condition=Q(status="open"), name="followup_open_case_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.case})"

    @property
    def opens_on(self) -> dt.date:
        """The first local day the contact may be recorded as done: its window opens when it is listed as
        due soon, FOLLOW_UP_DUE_SOON_DAYS before its date."""
        return self.due_on - dt.timedelta(days=FOLLOW_UP_DUE_SOON_DAYS)

    @property
    def is_overdue(self) -> bool:
        return self.status == FollowUpStatus.OPEN and self.due_on < local_today()
