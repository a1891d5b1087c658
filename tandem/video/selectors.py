"""Reads for the video pages, each scoped through the permission layer (`tandem.access.video`)."""

import datetime as dt
import json
from typing import Any

from django.conf import settings
from django.db.models import Prefetch

from tandem.access.services import deny
from tandem.access.video import video_role
from tandem.cases.models import Client
from tandem.scheduling.models import Appointment, Mode
from tandem.video.models import SeatState, VideoRoom, VideoSeat

# A waiting page polls every few seconds; one not heard from for this long has been closed.
SEEN_WITHIN = dt.timedelta(seconds=20)


def video_appointment_for(user: Any, appointment_id: Any) -> Appointment:
    """A video appointment this user takes part in (as its therapist or an attendee); otherwise 404,
    audited. Whether the room is open now is a further question (`access.video.video_window_state`)."""
    try:
        pk = int(appointment_id)
    except (TypeError, ValueError):
        raise deny(user, what="video_session", object_id=appointment_id) from None
    appointment = (
        Appointment.objects.filter(pk=pk, mode=Mode.VIDEO)
        .select_related("case")
        .prefetch_related("therapists", Prefetch("attendees", queryset=Client.objects.order_by("pk")))
        .first()
    )
    if appointment is None or video_role(user, appointment) is None:
        case_id = appointment.case_id if appointment else None
        raise deny(user, what="video_session", object_id=pk, case_id=case_id)
    return appointment


def seat_for(user: Any, ref: str) -> VideoSeat:
    """The user's own seat; anyone else's (or none) answers 404, audited."""
    seat = (
        VideoSeat.objects.filter(ref=str(ref)[:32], user_id=user.pk)
        .select_related("room__appointment")
        .first()
    )
    if seat is None:
        raise deny(user, what="video_seat", object_id=str(ref)[:32])
    return seat


def waiting_seats(appointment: Appointment, now: dt.datetime) -> list[VideoSeat]:
    """Who waits to be let in, with their names (for the session's therapists only), oldest first."""
    return list(
        VideoSeat.objects.filter(
            room__appointment=appointment, state=SeatState.WAITING, seen_at__gte=now - SEEN_WITHIN
        ).select_related("user", "room")
    )


def present_seats(appointment: Appointment, now: dt.datetime) -> list[VideoSeat]:
    """Who is in (admitted and their page still open)."""
    return list(
        VideoSeat.objects.filter(
            room__appointment=appointment, state=SeatState.ADMITTED, seen_at__gte=now - SEEN_WITHIN
        ).select_related("user")
    )


def ice_servers() -> list[Any]:
    try:
        servers = json.loads(settings.JANUS_ICE_SERVERS or "[]")
    except ValueError:
        return []
    return servers if isinstance(servers, list) else []


def room_closed(appointment: Appointment) -> bool:
    return VideoRoom.objects.filter(appointment=appointment, closed_at__isnull=False).exists()
