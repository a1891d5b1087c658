"""Video sessions held on the practice's own Janus server: a room per video appointment, a seat per
person and device, and each connection's start and end (never any media: nothing is recorded).

Janus knows a room only by its random number and the seats' random tokens: no name, no case, no
appointment detail ever goes there.
"""

from django.conf import settings
from django.db import models


class VideoRoom(models.Model):
    """The Janus room of one video appointment, created when the first person arrives."""

    appointment = models.OneToOneField(
        "scheduling.Appointment", on_delete=models.PROTECT, related_name="video_room"
    )
    # Random, below 2**53 so that browsers' JavaScript numbers hold it exactly.
    janus_room = models.BigIntegerField(unique=True)
    created_at = models.DateTimeField()
    # Set when the room was destroyed on Janus (after the appointment, or when it was cancelled).
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["closed_at"], name="video_room_open_idx")]

    def __str__(self) -> str:
        return f"Video room #{self.pk}"


class SeatRole(models.TextChoices):
    STAFF = "staff", "Therapist"
    CLIENT = "client", "Client"


class SeatState(models.TextChoices):
    WAITING = "waiting", "Waiting"
    ADMITTED = "admitted", "Admitted"
    LEFT = "left", "Left"


class VideoSeat(models.Model):
    """One person on one device in a room. Clients wait until a therapist admits them; therapists are
    admitted when they arrive. `token` is this seat's Janus token (its token authentication and the
    room's allowed list); it is removed from Janus when the seat leaves or the room closes."""

    room = models.ForeignKey(VideoRoom, on_delete=models.CASCADE, related_name="seats")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ref = models.CharField(max_length=32, unique=True)
    token = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=10, choices=SeatRole.choices)
    state = models.CharField(max_length=10, choices=SeatState.choices, default=SeatState.WAITING)
    arrived_at = models.DateTimeField()
    # Each poll of the page renews this; the waiting list shows only seats whose page is still open.
    seen_at = models.DateTimeField()
    admitted_at = models.DateTimeField(null=True, blank=True)
    admitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["arrived_at", "pk"]
        indexes = [models.Index(fields=["room", "state"], name="video_seat_room_state_idx")]

    def __str__(self) -> str:
        return f"Video seat {self.ref}"


class VideoConnection(models.Model):
    """One stretch of a seat being connected to the room (a dropped connection that reconnects starts a
    new one)."""

    seat = models.ForeignKey(VideoSeat, on_delete=models.CASCADE, related_name="connections")
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["joined_at", "pk"]

    def __str__(self) -> str:
        return f"Video connection #{self.pk}"
