"""The video pages: the session page (staff and clients alike, each in their role), its JSON calls for
the page's script (take a seat, poll it, joined, left), the therapists' waiting list, and the camera and
microphone check. Every page names the Janus address in its connect-src and allows the camera and the
microphone for this site only."""

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from tandem.access.services import deny
from tandem.access.video import video_role, video_window, video_window_state
from tandem.accounts.http import AuthedRequest
from tandem.video import janus, selectors, services
from tandem.video.models import SeatState, VideoSeat

_MEDIA_POLICY = "camera=(self), microphone=(self), geolocation=(), payment=(), usb=()"


def _media_page(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    response = render(request, template, context)
    response.headers["Permissions-Policy"] = _MEDIA_POLICY
    origin = janus.public_origin()
    if janus.enabled() and origin:
        response._csp_update = {"connect-src": [origin]}  # type: ignore[attr-defined]
    return response


@require_GET
def session(request: AuthedRequest, appointment_id: int) -> HttpResponse:
    appointment = selectors.video_appointment_for(request.user, appointment_id)
    role = video_role(request.user, appointment)
    opens, closes = video_window(appointment)
    context = {
        "nav": "calendar" if role == "staff" else None,
        "appointment": appointment,
        "role": role,
        "state": video_window_state(appointment, timezone.now()),
        "opens": opens,
        "closes": closes,
        "enabled": janus.enabled(),
        "fallback_phone": settings.VIDEO_FALLBACK_PHONE,
    }
    return _media_page(request, "video/session.html", context)


@require_GET
def check(request: AuthedRequest) -> HttpResponse:
    return _media_page(request, "video/check.html", {"nav": None})


@require_POST
def seat_take(request: AuthedRequest, appointment_id: int) -> JsonResponse:
    appointment = selectors.video_appointment_for(request.user, appointment_id)
    try:
        seat = services.video_seat_take(actor=request.user, appointment=appointment)
    except services.VideoUnavailable as refusal:
        return JsonResponse({"state": "refused", "message": str(refusal)}, status=409)
    return JsonResponse({"seat": seat.ref, "state": seat.state})


def _admitted(seat: VideoSeat) -> dict[str, Any]:
    return {
        "state": "admitted",
        "server": settings.JANUS_PUBLIC_URL,
        "room": seat.room.janus_room,
        "token": seat.token,
        # Janus sees only this random reference, never a name.
        "display": seat.ref,
        "iceServers": selectors.ice_servers(),
    }


@require_GET
def seat_status(request: AuthedRequest, ref: str) -> JsonResponse:
    seat = selectors.seat_for(request.user, ref)
    appointment = seat.room.appointment
    if seat.room.closed_at is not None or video_window_state(appointment, timezone.now()) != "open":
        return JsonResponse({"state": "ended", "message": "This session has ended."})
    if seat.state == SeatState.LEFT:
        message = "You left this session. Reload the page to join again."
        return JsonResponse({"state": "left", "message": message})
    services.video_seat_seen(seat=seat)
    if seat.state == SeatState.WAITING:
        return JsonResponse({"state": "waiting"})
    return JsonResponse(_admitted(seat))


@require_POST
def seat_joined(request: AuthedRequest, ref: str) -> JsonResponse:
    seat = selectors.seat_for(request.user, ref)
    if seat.state != SeatState.ADMITTED:
        return JsonResponse({"state": seat.state}, status=409)
    services.video_connection_join(actor=request.user, seat=seat)
    return JsonResponse({"state": "joined"})


@require_POST
def seat_left(request: AuthedRequest, ref: str) -> JsonResponse:
    seat = selectors.seat_for(request.user, ref)
    services.video_seat_leave(actor=request.user, seat=seat)
    return JsonResponse({"state": "left"})


# htmx stops polling on this status: the waiting list has nothing more to show once the session is over.
HTMX_STOP_POLLING = 286


def _waiting_fragment(request: AuthedRequest, appointment: Any, note: str = "") -> HttpResponse:
    now = timezone.now()
    if video_window_state(appointment, now) != "open" or selectors.room_closed(appointment):
        return HttpResponse('<p class="muted">This session has ended.</p>', status=HTMX_STOP_POLLING)
    context = {
        "appointment": appointment,
        "waiting": selectors.waiting_seats(appointment, now),
        "present": selectors.present_seats(appointment, now),
        "note": note,
    }
    return render(request, "video/_waiting.html", context)


@require_GET
def waiting(request: AuthedRequest, appointment_id: int) -> HttpResponse:
    appointment = selectors.video_appointment_for(request.user, appointment_id)
    if video_role(request.user, appointment) != "staff":
        raise deny(request.user, what="video_waiting", object_id=appointment.pk)
    return _waiting_fragment(request, appointment)


@require_POST
def admit(request: AuthedRequest, appointment_id: int) -> HttpResponse:
    appointment = selectors.video_appointment_for(request.user, appointment_id)
    if video_role(request.user, appointment) != "staff":
        raise deny(request.user, what="video_admit", object_id=appointment.pk)
    now = timezone.now()
    waiting_now = selectors.waiting_seats(appointment, now)
    chosen = request.POST.get("seat", "")
    seats = waiting_now if request.POST.get("all") else [seat for seat in waiting_now if seat.ref == chosen]
    try:
        count = services.video_seat_admit(actor=request.user, appointment=appointment, seats=seats)
    except services.VideoUnavailable as refusal:
        return _waiting_fragment(request, appointment, note=str(refusal))
    note = f"Let in: {count}." if count else "Nobody is waiting any more."
    return _waiting_fragment(request, appointment, note=note)
