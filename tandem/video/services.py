"""Every write of the video app: rooms opened on Janus when first needed and closed after the session,
seats taken and admitted, connections joined and left. Each runs in one transaction with its audit row;
a Janus call that fails raises `VideoUnavailable` and the transaction changes nothing."""

import datetime as dt
import logging
import secrets
from typing import Any

from django.db import OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from tandem.access.video import can_admit_video, can_join_video, video_role
from tandem.audit.actors import SystemActor
from tandem.audit.services import audit_record
from tandem.scheduling.models import Appointment, AppointmentStatus
from tandem.video import janus
from tandem.video.models import SeatRole, SeatState, VideoConnection, VideoRoom, VideoSeat

logger = logging.getLogger(__name__)


class VideoUnavailable(Exception):
    """The session cannot go ahead now; the message is fit to show."""


def _janus(call: Any, *args: Any) -> Any:
    if not janus.enabled():
        raise VideoUnavailable("Video is switched off at this practice.")
    try:
        return call(*args)
    except janus.JanusError as exc:
        raise VideoUnavailable("The video server is not answering. Try again in a minute.") from exc


def _room_for(appointment: Appointment, now: dt.datetime, actor: Any) -> VideoRoom:
    """The appointment's open room, created on Janus the first time anyone arrives (the caller holds the
    appointment's row lock, so two arrivals never create two)."""
    room = VideoRoom.objects.filter(appointment=appointment).first()
    if room is not None and room.closed_at is not None:
        raise VideoUnavailable("This session has ended.")
    if room is None:
        number = janus.new_room_number()
        while VideoRoom.objects.filter(janus_room=number).exists():
            number = janus.new_room_number()
        room = VideoRoom.objects.create(appointment=appointment, janus_room=number, created_at=now)
        _janus(janus.room_create, number)
        audit_record(actor=actor, action="video.room_open", target=room, case=appointment.case_id)
    return room


def video_seat_take(*, actor: Any, appointment: Appointment) -> VideoSeat:
    """A person arrives on one device: a therapist is admitted at once, a client waits to be admitted."""
    now = timezone.now()
    with transaction.atomic():
        locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if not can_join_video(actor, appointment, now) or locked.status == AppointmentStatus.CANCELLED:
            raise VideoUnavailable("This session is not open now.")
        room = _room_for(locked, now, actor)
        staff = video_role(actor, appointment) == "staff"
        seat = VideoSeat.objects.create(
            room=room,
            user=actor,
            ref=secrets.token_urlsafe(12),
            token=secrets.token_urlsafe(32),
            role=SeatRole.STAFF if staff else SeatRole.CLIENT,
            state=SeatState.ADMITTED if staff else SeatState.WAITING,
            arrived_at=now,
            seen_at=now,
            admitted_at=now if staff else None,
        )
        if staff:
            _janus(janus.token_allow, room.janus_room, seat.token)
        detail = {"role": seat.role}
        audit_record(actor=actor, action="video.arrive", target=seat, case=appointment.case_id, detail=detail)
    return seat


def video_seat_admit(*, actor: Any, appointment: Appointment, seats: list[VideoSeat]) -> int:
    """A therapist of the session lets waiting clients in (one, or all who wait). Returns how many."""
    if not can_admit_video(actor, appointment):
        raise VideoUnavailable("Only the session's therapists can let clients in.")
    now = timezone.now()
    admitted = 0
    with transaction.atomic():
        for seat in VideoSeat.objects.select_for_update().filter(
            pk__in=[seat.pk for seat in seats], room__appointment=appointment, state=SeatState.WAITING
        ):
            _janus(janus.token_allow, seat.room.janus_room, seat.token)
            seat.state, seat.admitted_at, seat.admitted_by = SeatState.ADMITTED, now, actor
            seat.save(update_fields=["state", "admitted_at", "admitted_by"])
            audit_record(actor=actor, action="video.admit", target=seat, case=appointment.case_id)
            admitted += 1
    return admitted


def video_seat_seen(*, seat: VideoSeat) -> None:
    """The seat's page is still open (its poll); not audited: it records no act, only that it is there.
    A heartbeat, so a busy database may skip one: the next poll renews it."""
    now = timezone.now()
    if now - seat.seen_at < dt.timedelta(seconds=4):
        return
    try:
        VideoSeat.objects.filter(pk=seat.pk).update(seen_at=now)
    except OperationalError:
        logger.info("video.seen_skipped")


def video_connection_join(*, actor: Any, seat: VideoSeat) -> VideoConnection:
    """The seat's browser is in the Janus room (its first connection, or a reconnection after a drop)."""
    now = timezone.now()
    with transaction.atomic():
        VideoConnection.objects.filter(seat=seat, left_at__isnull=True).update(left_at=now)
        connection = VideoConnection.objects.create(seat=seat, joined_at=now)
        audit_record(actor=actor, action="video.join", target=seat, case=seat.room.appointment.case_id)
    return connection


def video_seat_leave(*, actor: Any, seat: VideoSeat, reason: str = "left") -> None:
    """The person leaves (their page closes, or the room closes): their token stops working at once."""
    now = timezone.now()
    with transaction.atomic():
        if seat.state == SeatState.LEFT:
            return
        VideoConnection.objects.filter(seat=seat, left_at__isnull=True).update(left_at=now)
        seat.state = SeatState.LEFT
        seat.save(update_fields=["state"])
        if janus.enabled():
            try:
                janus.token_revoke(seat.token)
            except janus.JanusError:
                # Leaving must not fail: the token dies with the room when it closes.
                logger.warning("video.token_revoke_failed", extra={"seat": seat.pk})
        audit_record(
            actor=actor,
            action="video.leave",
            target=seat,
            case=seat.room.appointment.case_id,
            detail={"reason": reason},
        )


def video_rooms_close(*, actor: SystemActor | Any, now: dt.datetime | None = None) -> int:
    """Destroys on Janus every open room whose session is over (30 minutes after its end) or was
    cancelled; whoever is still in it leaves. The notify worker and `video_close_rooms` call this."""
    now = now or timezone.now()
    over = Q(appointment__ends_at__lte=now - dt.timedelta(minutes=30)) | Q(
        appointment__status=AppointmentStatus.CANCELLED
    )
    closed = 0
    for room in VideoRoom.objects.filter(over, closed_at__isnull=True).select_related("appointment"):
        with transaction.atomic():
            for seat in room.seats.exclude(state=SeatState.LEFT):
                video_seat_leave(actor=actor, seat=seat, reason="room closed")
            _janus(janus.room_destroy, room.janus_room)
            room.closed_at = now
            room.save(update_fields=["closed_at"])
            audit_record(actor=actor, action="video.room_close", target=room, case=room.appointment.case_id)
        closed += 1
    return closed
