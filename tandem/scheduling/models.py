from datetime import datetime, timedelta

from django.conf import settings
from django.db import models


class AppointmentKind(models.TextChoices):
    CONSULTATION = "consultation", "Free consultation"
    JOINT_ASSESSMENT = "joint_assessment", "Joint assessment"
    INDIVIDUAL_ASSESSMENT = "individual_assessment", "Individual assessment"
    INTENSIVE = "intensive", "Intensive session"
    STANDARD = "standard", "Standard session"
    CONJUNCTIVE = "conjunctive", "Conjunctive individual"
    FOLLOW_UP_VISIT = "follow_up_visit", "Follow-up visit"
    FOLLOW_UP_CALL = "follow_up_call", "Follow-up phone call"


class Mode(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    VIDEO = "video", "Video"


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ATTENDED = "attended", "Attended"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "Did not attend"


# No session lasts longer (an intensive day is at most two hours); booking services must refuse more.
LONGEST_APPOINTMENT = timedelta(hours=12)


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def between(self, start: datetime, end: datetime) -> "AppointmentQuerySet":
        # The lower bound on starts_at lets the index skip the years of history before `start`.
        return self.filter(starts_at__gte=start - LONGEST_APPOINTMENT, starts_at__lt=end, ends_at__gt=start)

    def for_therapist(self, user: object) -> "AppointmentQuerySet":
        return self.filter(therapists=user)


class Appointment(models.Model):
    """A session of a case. Booking rules and the occupancy guard arrive with the scheduling work."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="appointments")
    kind = models.CharField(max_length=30, choices=AppointmentKind.choices)
    mode = models.CharField(max_length=20, choices=Mode.choices, default=Mode.IN_PERSON)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    room = models.ForeignKey(
        "practice.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    therapists = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="appointments")
    status = models.CharField(
        max_length=20, choices=AppointmentStatus.choices, default=AppointmentStatus.BOOKED
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AppointmentQuerySet.as_manager()

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["starts_at"], name="appointment_start_idx"),
            models.Index(fields=["case", "starts_at"], name="appointment_case_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="appointment_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.starts_at:%Y-%m-%d %H:%M}"
