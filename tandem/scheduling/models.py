from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models

from tandem.cases.models import Client
from tandem.lib.lookups import Ids


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


# Used when the clinic has not edited a type in the admin: (default minutes, longest minutes, modes).
# The intensive's longest day is further capped by PracticePolicy.intensive_minutes.
_ALL_MODES = (Mode.IN_PERSON, Mode.PHONE, Mode.VIDEO)
TYPE_DEFAULTS: dict[str, tuple[int, int, tuple[str, ...]]] = {
    AppointmentKind.CONSULTATION: (20, 30, (Mode.PHONE, Mode.VIDEO)),
    AppointmentKind.JOINT_ASSESSMENT: (90, 120, _ALL_MODES),
    AppointmentKind.INDIVIDUAL_ASSESSMENT: (60, 120, _ALL_MODES),
    AppointmentKind.INTENSIVE: (120, 120, (Mode.IN_PERSON,)),
    AppointmentKind.STANDARD: (60, 120, _ALL_MODES),
    AppointmentKind.CONJUNCTIVE: (60, 120, _ALL_MODES),
    AppointmentKind.FOLLOW_UP_VISIT: (60, 120, _ALL_MODES),
    AppointmentKind.FOLLOW_UP_CALL: (30, 45, (Mode.PHONE, Mode.VIDEO)),
}


class AppointmentType(models.Model):
    """A clinic's settings for one kind of appointment: its usual and longest length and its modes.

    Kinds without a row use TYPE_DEFAULTS; read through `for_kind()`, which never writes.
    """

    kind = models.CharField(max_length=30, choices=AppointmentKind.choices, unique=True)
    default_minutes = models.PositiveSmallIntegerField(help_text="Used when no end time is given.")
    max_minutes = models.PositiveSmallIntegerField(help_text="Longer bookings are refused.")
    in_person = models.BooleanField(default=True)
    phone = models.BooleanField(default=False)
    video = models.BooleanField(default=False)

    class Meta:
        ordering = ["kind"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(default_minutes__gt=0, max_minutes__gte=models.F("default_minutes")),
                name="appointment_type_lengths",
            ),
        ]

    def __str__(self) -> str:
        return self.get_kind_display()

    @property
    def modes(self) -> tuple[str, ...]:
        chosen = ((Mode.IN_PERSON, self.in_person), (Mode.PHONE, self.phone), (Mode.VIDEO, self.video))
        return tuple(mode for mode, allowed in chosen if allowed)

    @classmethod
    def for_kind(cls, kind: str) -> "AppointmentType":
        found = cls.objects.filter(kind=kind).first()
        if found is not None:
            return found
        default, longest, modes = TYPE_DEFAULTS[kind]
        return cls(
            kind=kind,
            default_minutes=default,
            max_minutes=longest,
            in_person=Mode.IN_PERSON in modes,
            phone=Mode.PHONE in modes,
            video=Mode.VIDEO in modes,
        )


class TimeOff(models.Model):
    """A therapist's leave or other absence; bookings in it are refused. The reason stays private."""

    therapist = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="time_off")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    reason = models.CharField(max_length=200, blank=True, help_text="Private: never shown when booking.")

    class Meta:
        ordering = ["starts_at"]
        verbose_name_plural = "time off"
        indexes = [models.Index(fields=["therapist", "starts_at"], name="time_off_therapist_idx")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_at__gt=models.F("starts_at")), name="time_off_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"Time off {self.starts_at:%Y-%m-%d %H:%M}"


# Attended by one partner alone; every other kind is attended by all of the case's clients (both
# partners of a couple, the one client of an individual case).
INDIVIDUAL_KINDS = frozenset({AppointmentKind.INDIVIDUAL_ASSESSMENT, AppointmentKind.CONJUNCTIVE})


class AppointmentStatus(models.TextChoices):
    BOOKED = "booked", "Booked"
    ATTENDED = "attended", "Attended"
    CANCELLED = "cancelled", "Cancelled"
    NO_SHOW = "no_show", "Did not attend"


# No session lasts longer (an intensive day is at most two hours); booking services must refuse more.
LONGEST_APPOINTMENT = timedelta(hours=12)


def earliest_start(start: datetime) -> datetime:
    """The earliest start of an appointment that may still be under way at START."""
    return start - LONGEST_APPOINTMENT


def overlapping(start: datetime, end: datetime, *, earliest: datetime | None = None) -> models.Q:
    """Rows (an appointment, or what it holds) whose period [starts_at, ends_at) overlaps [start, end).

    The lower bound on starts_at lets an index that leads with (or ends in) starts_at skip the years of
    history before `start`. `earliest`: that bound, earliest_start(start), when the caller gives it
    (a remembered query takes every value it is sent as its own, lib/remembered_queries.py)."""
    lowest = earliest_start(start) if earliest is None else earliest
    return models.Q(starts_at__gte=lowest, starts_at__lt=end, ends_at__gt=start)


class AppointmentQuerySet(models.QuerySet["Appointment"]):
    def between(
        self, start: datetime, end: datetime, *, earliest: datetime | None = None
    ) -> "AppointmentQuerySet":
        return self.filter(overlapping(start, end, earliest=earliest))

    def held_by(
        self,
        kind: str,
        ids: Iterable[int],
        start: datetime,
        end: datetime,
        *,
        earliest: datetime | None = None,
    ) -> "AppointmentQuerySet":
        """The appointments that these resources of KIND hold and that overlap [start, end), by their
        occupancy rows alone: the occupancy index (kind, resource, start) finds their few sessions
        directly, and the rows hold each appointment's own times. With the appointments' own time range
        beside it, PostgreSQL read every session the practice holds in the span (hundreds in a large
        practice) to ask each for its occupancy. Occupancy is deleted on cancellation."""
        # An `Ids` goes as one array (lib/lookups.py): one query text however many resources.
        among = {"resource_id__any_of": ids} if isinstance(ids, Ids) else {"resource_id__in": ids}
        held = Occupancy.objects.filter(
            overlapping(start, end, earliest=earliest), resource_kind=kind, **among
        )
        return self.filter(pk__in=held.values("appointment_id"))

    def held_by_therapist(self, user: Any, start: datetime, end: datetime) -> "AppointmentQuerySet":
        """The appointments this therapist holds that overlap [start, end) (see held_by)."""
        return self.held_by(ResourceKind.THERAPIST, [user.pk], start, end)

    def attended_by(self, client: object) -> "AppointmentQuerySet":
        return self.filter(attendees=client)

    def with_attendees(self) -> "AppointmentQuerySet":
        """One more query for all the rows' attendees, in a stable order (see selectors.attendees_of)."""
        return self.prefetch_related(_attendees())


def _attendees() -> models.Prefetch:
    return models.Prefetch("attendees", queryset=Client.objects.order_by("pk"))


def prefetch_attendees(rows: list["Appointment"]) -> None:
    """The attendees of appointments already read, as with_attendees() would have fetched them."""
    models.prefetch_related_objects(rows, _attendees())


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
    # Who attends: written by the booking services with the appointment (both partners of a joint session,
    # exactly one for an individual kind); occupancy, portals, reminders and notes read it.
    attendees = models.ManyToManyField("cases.Client", related_name="appointments", blank=True)
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
            # "Has the case a session booked ahead?" (Today's cases without a next session): one probe
            # per case, where the planner otherwise scanned every booked session of the practice.
            models.Index(
                fields=["case", "starts_at"],
                condition=models.Q(status=AppointmentStatus.BOOKED),
                name="appointment_case_booked_idx",
            ),
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
    ATTENDANCE = "attendance", "Attendance recorded"


class CancellationBatch(models.Model):
    """Bookings cancelled together because care ended (discharge, closing without treatment): one row
    the notify worker reads to tell each attending partner once, not once per appointment."""

    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="cancellation_batches")
    at = models.DateTimeField()
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        indexes = [models.Index(fields=["at"], name="cancellation_batch_at_idx")]

    def __str__(self) -> str:
        return f"Cancellation batch {self.pk} at {self.at:%Y-%m-%d %H:%M}"


class AppointmentChange(models.Model):
    """A move, cancellation or attendance record: who, when, why, what it was before, and whether it
    came late. An attendance row keeps the status before and after, so a corrected record shows both."""

    appointment = models.ForeignKey(Appointment, on_delete=models.CASCADE, related_name="changes")
    kind = models.CharField(max_length=20, choices=ChangeKind.choices)
    at = models.DateTimeField()
    # Empty only when the client made the change themself with their signed link (free consultation).
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
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
    # Set when the cancellation was one of several made together as care ended.
    batch = models.ForeignKey(
        CancellationBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="changes"
    )
    # Filled only for attendance: the appointment's status before and after the record.
    old_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True, default="")
    new_status = models.CharField(max_length=20, choices=AppointmentStatus.choices, blank=True, default="")

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.appointment_id} at {self.at:%Y-%m-%d %H:%M}"


class CalendarFeed(models.Model):
    """A therapist's private iCalendar feed. Only a keyed hash of its secret token is stored.

    One row per therapist: rotating replaces the hash, revoking clears it (a revoked feed has no hash,
    so no token can ever match it again).
    """

    therapist = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="calendar_feed"
    )
    token_hash = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    created_at = models.DateTimeField()
    rotated_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Calendar feed of user {self.therapist_id}"

    @property
    def active(self) -> bool:
        return self.token_hash is not None and self.revoked_at is None
