"""The booking API: JSON in, JSON out. Parsing here, every rule in scheduling.services.

Answers: 201 with the new id(s); 400 for bad input (nothing changed); 403 when the case is visible but
the user may not book it; 404 for what the user may not see; 409 naming the clash.
"""

import datetime as dt
import json
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_POST

from tandem.access.services import AccessDenied, get_case_for
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import CoTherapyTeam, User
from tandem.cases.models import Case, Client
from tandem.lib.errors import Refusal
from tandem.lib.parse import validate_day
from tandem.practice.models import Room
from tandem.scheduling import selectors, services
from tandem.scheduling.models import Mode


class BadInput(Exception):
    """The request body cannot be read as asked; the message says what to fix."""


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)


def api(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """POST only, staff only, and every refusal answered as JSON with its status."""

    @require_POST
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        try:
            if not getattr(request.user, "is_practice_staff", False):
                raise Http404("Not found")
            return view(request, _body(request), *args, **kwargs)
        except Http404:
            return _error(404, "Not found.")
        except (BadInput, services.BookingInvalid) as refusal:
            return _error(400, str(refusal))
        except services.BookingConflict as clash:
            return _error(409, str(clash))
        except Refusal as refusal:
            return JsonResponse({"error": refusal.message, "field": refusal.field}, status=400)
        except AccessDenied as refusal:
            return _error(403, str(refusal))

    return wrapper


def _body(request: HttpRequest) -> dict[str, Any]:
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise BadInput("The request body is not valid JSON.") from None
    if not isinstance(body, dict):
        raise BadInput("The request body must be a JSON object.")
    return body


def _required(body: dict[str, Any], name: str) -> Any:
    if body.get(name) in (None, ""):
        raise BadInput(f"'{name}' is required.")
    return body[name]


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise BadInput(f"'{name}' must be a number.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise BadInput(f"'{name}' must be a number.") from None


def _instant(body: dict[str, Any], name: str) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(str(_required(body, name)))
    except ValueError:
        raise BadInput(f"'{name}' must be an ISO 8601 date and time with UTC offset.") from None
    if value.tzinfo is None:
        raise BadInput(f"'{name}' needs a UTC offset (e.g. 2027-03-02T10:00:00+01:00).")
    _within_handled_days(value.date(), name)
    return value


def _date(body: dict[str, Any], name: str) -> dt.date:
    try:
        day = dt.date.fromisoformat(str(_required(body, name)))
    except ValueError:
        raise BadInput(f"'{name}' must be a date (YYYY-MM-DD).") from None
    _within_handled_days(day, name)
    return day


def _within_handled_days(day: dt.date, name: str) -> None:
    # Ending, converting or spreading a booking near year 9999 (or year 1) overflows `datetime`.
    try:
        validate_day(day)
    except ValidationError as refusal:
        raise BadInput(f"'{name}': {refusal.messages[0]}") from None


def _time(body: dict[str, Any], name: str) -> dt.time:
    try:
        return dt.time.fromisoformat(str(_required(body, name)))
    except ValueError:
        raise BadInput(f"'{name}' must be a local time (HH:MM).") from None


def _case(request: AuthedRequest, body: dict[str, Any]) -> Case:
    return get_case_for(request.user, _int(_required(body, "case"), "case"), audit_view=False)


def _room(body: dict[str, Any]) -> Room | None:
    if body.get("room") in (None, ""):
        return None
    room = Room.objects.filter(pk=_int(body["room"], "room")).first()
    if room is None:
        raise BadInput("No such room.")
    return room


def _therapists(body: dict[str, Any]) -> list[User]:
    ids = _required(body, "therapists")
    if not isinstance(ids, list):
        raise BadInput("'therapists' must be a list of ids.")
    wanted = {_int(pk, "therapists") for pk in ids}
    found = list(User.objects.filter(pk__in=wanted).select_related("therapist_profile"))
    if len(found) != len(wanted):
        raise BadInput("No such therapist.")
    return found


def _attendees(body: dict[str, Any], case: Case) -> list[Client] | None:
    """The optional "attendees" (client ids): only the case's own partners are looked up, so an id from
    another case reads the same as one that does not exist."""
    if body.get("attendees") is None:
        return None
    ids = body["attendees"]
    if not isinstance(ids, list):
        raise BadInput("'attendees' must be a list of client ids.")
    partners = {c.pk: c for c in case.partners}
    wanted = {_int(pk, "attendees") for pk in ids}
    if not wanted <= partners.keys():
        raise BadInput("Only the partners in this case can attend its appointments.")
    return [partners[pk] for pk in sorted(wanted)]


@api
def appointment_create(request: AuthedRequest, body: dict[str, Any]) -> JsonResponse:
    case = _case(request, body)
    appointment = services.appointment_book(
        actor=request.user,
        case=case,
        kind=str(_required(body, "kind")),
        starts_at=_instant(body, "starts_at"),
        ends_at=_instant(body, "ends_at"),
        therapists=_therapists(body),
        room=_room(body),
        mode=str(body.get("mode") or Mode.IN_PERSON),
        clients=_attendees(body, case),
    )
    attendees = list(appointment.attendees.order_by("pk").values_list("pk", flat=True))
    return JsonResponse({"id": appointment.pk, "attendees": attendees}, status=201)


@api
def intensive_create(request: AuthedRequest, body: dict[str, Any]) -> JsonResponse:
    case = _case(request, body)
    team = therapist = None
    if body.get("team") not in (None, ""):
        team = (
            CoTherapyTeam.objects.select_related("first__therapist_profile", "second__therapist_profile")
            .filter(pk=_int(body["team"], "team"))
            .first()
        )
        if team is None:
            raise BadInput("No such team.")
    if body.get("therapist") not in (None, ""):
        therapist = User.objects.filter(pk=_int(body["therapist"], "therapist")).first()
        if therapist is None:
            raise BadInput("No such therapist.")
    room = _room(body)
    if room is None:
        raise BadInput("'room' is required.")
    series = services.intensive_book(
        actor=request.user,
        case=case,
        team=team,
        therapist=therapist,
        room=room,
        first_day=_date(body, "first_day"),
        start_time=_time(body, "start_time"),
        days=_int(body["days"], "days") if body.get("days") is not None else None,
        minutes=_int(body["minutes"], "minutes") if body.get("minutes") is not None else None,
    )
    ids = list(series.appointments.order_by("starts_at").values_list("pk", flat=True))
    return JsonResponse({"id": series.pk, "appointments": ids}, status=201)


@api
def appointment_move(request: AuthedRequest, body: dict[str, Any], appointment_id: int) -> JsonResponse:
    appointment = selectors.appointment_for(request.user, appointment_id)
    moved = services.appointment_move(
        actor=request.user,
        appointment=appointment,
        starts_at=_instant(body, "starts_at"),
        ends_at=_instant(body, "ends_at"),
        room=_room(body) if "room" in body else services.UNCHANGED,
        reason=str(body.get("reason") or ""),
    )
    return JsonResponse({"id": moved.pk})


@api
def appointment_cancel(request: AuthedRequest, body: dict[str, Any], appointment_id: int) -> JsonResponse:
    appointment = selectors.appointment_for(request.user, appointment_id)
    cancelled = services.appointment_cancel(
        actor=request.user, appointment=appointment, reason=str(body.get("reason") or "")
    )
    late = cancelled.changes.order_by("-at", "-id").values_list("late", flat=True).first()
    return JsonResponse({"id": cancelled.pk, "late": bool(late)})
