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


class SeriesKind(models.TextChoices):
    SERIES = "series", "Standard series"
    INTENSIVE = "intensive", "Intensive block"


class AppointmentSeries(models.Model):
    """Appointments booked together in one call (a weekly series or an intensive block)."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="appointment_series")
    kind = models.CharField(max_length=20, choices=SeriesKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name_plural = "appointment series"

    def __str__(self) -> str:
        return f"{self.get_kind_display()} #{self.pk}"


class Appointment(models.Model):
    """A session of a case. Booked, moved and cancelled only through scheduling.services."""

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
    series = models.ForeignKey(
        AppointmentSeries, null=True, blank=True, on_delete=models.PROTECT, related_name="appointments"
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


class ResourceKind(models.TextChoices):
    THERAPIST = "therapist", "Therapist"
    ROOM = "room", "Room"
    CLIENT = "client", "Client"


class Occupancy(models.Model):
    """One resource held by one appointment for a half-open period [starts_at, ends_at).

    On PostgreSQL an exclusion constraint (migration 0002) makes two overlapping rows for one resource
    impossible; a cancelled appointment holds no rows. `resource_id` is a user, room or client id
    according to `resource_kind`: one column, so that one constraint covers every kind of resource.
    """

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="occupancies")
    resource_kind = models.CharField(max_length=10, choices=ResourceKind.choices)
    resource_id = models.BigIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "occupancies"
        indexes = [
            models.Index(fields=["resource_kind", "resource_id", "starts_at"], name="occupancy_resource_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="occupancy_ends_after_start"
            ),
            models.UniqueConstraint(
                fields=["appointment", "resource_kind", "resource_id"], name="occupancy_unique_resource"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resource_kind} {self.resource_id} {self.starts_at:%Y-%m-%d %H:%M}"


class ChangeKind(models.TextChoices):
    MOVED = "moved", "Moved"
    CANCELLED = "cancelled", "Cancelled"


class AppointmentChange(models.Model):
    """A move or cancellation: who, when, why, what it was before, and whether it came late."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reason = models.TextField()
    late = models.BooleanField(default=False)
    old_starts_at = models.DateTimeField()
    old_ends_at = models.DateTimeField()
    old_room = models.ForeignKey(
        "practice.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    new_starts_at = models.DateTimeField(null=True, blank=True)
    new_ends_at = models.DateTimeField(null=True, blank=True)
    new_room = models.ForeignKey(
        "practice.Room", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.appointment_id} at {self.at:%Y-%m-%d %H:%M}"
