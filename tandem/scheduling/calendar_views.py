"""Calendar pages (practice, therapist, room) and the therapist's own calendar feed."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse, HttpResponseNotFound
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from tandem.access.calendar import can_have_feed
from tandem.access.services import AccessDenied, deny
from tandem.accounts.http import AuthedRequest
from tandem.lib.jinja import fragment
from tandem.lib.parse import parse_id
from tandem.lib.urls import id_url
from tandem.scheduling import calendar, feeds, services
from tandem.scheduling.calendar_forms import NewAppointmentForm
from tandem.scheduling.models import AppointmentKind


def _render(request: AuthedRequest, cal: calendar.Calendar, *, title: str, url: str) -> HttpResponse:
    # The days are printed by Jinja2 (tandem/lib/jinja.py says why), the page around them by Django.
    # The CSRF field once: the engine's own csrf_input masks the token afresh wherever it is printed.
    days = fragment(
        "scheduling/_calendar_days.jinja",
        {
            "cal": cal,
            "url": url,
            "new_url": reverse("scheduling:calendar_new"),
            "here": request.get_full_path(),
            "csrf": csrf_input(request),
        },
    )
    context = {
        "nav": "calendar",
        "cal": cal,
        "days": days,
        "title": title,
        "url": url,
        # The practice week has just read them for its pages of therapists.
        "therapists": [member for g in cal.groups for member in g.members] or calendar.therapist_choices(),
        "rooms": calendar.room_choices(),
    }
    return render(request, "scheduling/calendar.html", context)


def _when(request: HttpRequest, default_span: str = "week") -> tuple[Any, str]:
    day = calendar.parse_day(request.GET.get("date"))
    return day, calendar.parse_span(request.GET.get("span"), default_span)


def _links() -> calendar.Links:
    return calendar.Links(
        case=id_url("cases:detail", "case_id"),
        attendance=id_url("scheduling:attendance", "appointment_id"),
        video=id_url("video:session", "appointment_id"),
    )


@require_GET
def calendar_practice(request: AuthedRequest) -> HttpResponse:
    calendar.check_viewer(request.user)
    # The picker is a plain GET form: it lands here and is sent on to the calendar chosen.
    show = request.GET.get("show", "")
    kind, _, raw_pk = show.partition("-")
    if kind in ("therapist", "room") and (pk := parse_id(raw_pk)):
        target = reverse(f"scheduling:calendar_{kind}", args=[pk])
        day, span = _when(request)
        return redirect(f"{target}?date={day.isoformat()}&span={span}")
    # The whole practice opens on one day of one page of therapists (calendar.GROUP_SIZE); the week and
    # the other pages are one click away.
    day, span = _when(request, default_span="day")
    group = parse_id(request.GET.get("group")) or 1
    cal = calendar.calendar_build(viewer=request.user, anchor=day, span=span, links=_links(), group=group)
    return _render(request, cal, title="Whole practice", url=reverse("scheduling:calendar_practice"))


@require_GET
def calendar_therapist(request: AuthedRequest, therapist_id: int) -> HttpResponse:
    therapist = calendar.therapist_for_calendar(request.user, therapist_id)
    day, span = _when(request)
    cal = calendar.calendar_build(
        viewer=request.user, anchor=day, span=span, therapist=therapist, links=_links()
    )
    url = reverse("scheduling:calendar_therapist", args=[therapist.pk])
    return _render(request, cal, title=str(therapist), url=url)


@require_GET
def calendar_room(request: AuthedRequest, room_id: int) -> HttpResponse:
    room = calendar.room_for_calendar(request.user, room_id)
    day, span = _when(request)
    cal = calendar.calendar_build(viewer=request.user, anchor=day, span=span, room=room, links=_links())
    url = reverse("scheduling:calendar_room", args=[room.pk])
    return _render(request, cal, title=f"{room.name}, {room.location.name}", url=url)


def _back(request: HttpRequest) -> str | None:
    """Where to return after booking: only ever one of the calendar pages of this site."""
    target = request.POST.get("next") or request.GET.get("next") or ""
    calendars = reverse("scheduling:calendar_practice")
    if target.startswith(calendars) and url_has_allowed_host_and_scheme(target, allowed_hosts=None):
        return target
    return None


@require_http_methods(["GET", "POST"])
def calendar_new(request: AuthedRequest) -> HttpResponse:
    """Book one appointment from a calendar day; a refusal (a clash, a closed day) is shown on the form."""
    calendar.check_viewer(request.user)
    back = _back(request)
    if request.method == "POST":
        form = NewAppointmentForm(request.POST, user=request.user)
        if form.is_valid() and form.case_obj is not None:
            day, start, end = form.times()
            data = form.cleaned_data
            try:
                appointment = services.appointment_book(
                    actor=request.user,
                    case=form.case_obj,
                    kind=data["kind"],
                    mode=data["mode"],
                    starts_at=services.local_start(day, start),
                    ends_at=services.local_start(day, end) if end else None,
                    therapists=form.therapist_list(),
                    room=data.get("room"),
                    clients=form.attendee_list(),
                )
            except (services.BookingError, AccessDenied) as refusal:
                form.add_error(None, str(refusal))
            else:
                label = AppointmentKind(appointment.kind).label
                when = f"{day:%a} {day.day} {day:%b} {start:%H:%M}"
                messages.success(request, f"Booked: {label} for {form.case_obj.reference}, {when}.")
                day_view = reverse("scheduling:calendar_practice") + f"?date={day.isoformat()}&span=day"
                return redirect(back or day_view)
    else:
        initial: dict[str, Any] = {"date": calendar.parse_day(request.GET.get("date"))}
        if therapist := parse_id(request.GET.get("therapist")):
            initial["therapists"] = [therapist]
        if room := parse_id(request.GET.get("room")):
            initial["room"] = room
        form = NewAppointmentForm(initial=initial, user=request.user)
    context = {"nav": "calendar", "form": form, "back": back}
    return render(request, "scheduling/calendar_new.html", context, status=400 if form.errors else 200)


# --- The feed -------------------------------------------------------------------------------------
@never_cache
@require_http_methods(["GET", "POST"])
def feed_manage(request: AuthedRequest) -> HttpResponse:
    """The therapist's own feed: create, rotate, revoke. It never tells anything about clients."""
    user = request.user
    if not can_have_feed(user):
        raise deny(user, what="calendar_feed", object_id="")
    feed_url = None
    if request.method == "POST":
        action = request.POST.get("action", "")
        # can_have_feed holds (above), so the services' own check passes; were it to refuse, the
        # permission layer's middleware answers with the audited 404.
        if action in ("create", "rotate"):
            _, token = feeds.calendar_feed_issue(actor=user)
            # Shown in this one answer only: no redirect, so the address is never stored anywhere.
            feed_url = request.build_absolute_uri(reverse("scheduling:feed_ics", args=[token]))
        elif action == "revoke":
            if feeds.calendar_feed_revoke(actor=user) is not None:
                messages.success(request, "Your calendar feed is switched off. Its address no longer works.")
            return redirect("scheduling:feed")
    context = {
        "nav": "calendar",
        "feed": feeds.feed_of(user),
        "feed_url": feed_url,
        "past_days": feeds.FEED_PAST.days,
        "future_days": feeds.FEED_FUTURE.days,
    }
    return render(request, "scheduling/feed.html", context)


def _not_found() -> HttpResponse:
    response = HttpResponseNotFound("Not found", content_type="text/plain")
    # Django would log "Not Found: <path>", and the path holds the (wrong or revoked) token.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


@login_not_required
@require_http_methods(["GET", "HEAD"])
def feed_ics(request: HttpRequest, token: str) -> HttpResponse:
    """The feed itself: no log-in (calendar apps cannot log in); the token is the key."""
    feed = feeds.feed_for_token(token)
    if feed is None:
        return _not_found()
    body = feeds.feed_ical(feed)
    feeds.note_fetch(feed)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="appointments.ics"'
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
