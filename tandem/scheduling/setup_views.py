"""The clinical director's set-up pages: practice and policy, locations and rooms, closures, appointment
types, staff (invitations, set-up links, teams) and each therapist's hours and time off.

One thin module for all of them, so the director finds set-up in one place with one navigation, while
every write goes to the service of the app that owns the fact (practice.services, accounts.staff,
scheduling.services.team_form, scheduling.setup_services). It lives in scheduling because that is the
lowest layer that may read all of those apps (practice and accounts sit below it and may not import
each other). Anyone but the director gets a 404, audited.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any, cast

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods
from django_otp.plugins.otp_totp.models import TOTPDevice

from tandem.access.services import deny
from tandem.accounts import staff
from tandem.accounts.models import STAFF_ROLES, CoTherapyTeam, User, WorkingHours
from tandem.practice import services
from tandem.practice.models import Location, PracticeClosure, PracticePolicy, Room
from tandem.scheduling import setup_forms as forms
from tandem.scheduling import setup_services
from tandem.scheduling.models import TYPE_DEFAULTS, AppointmentKind, AppointmentType, Mode, TimeOff
from tandem.scheduling.rules import team_rule_problem
from tandem.scheduling.selectors import booked_on
from tandem.scheduling.services import BookingInvalid, team_form

View = Callable[..., HttpResponse]
REFUSED = (ValidationError, BookingInvalid)


def director_page(name: str) -> Callable[[View], View]:
    """Only the director; every other user gets the same 404 as for a record they may not see."""

    def wrap(view: View) -> View:
        @wraps(view)
        @require_http_methods(["GET", "POST"])
        def inner(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not getattr(request.user, "is_director", False):
                raise deny(request.user, what="setup", object_id=name)
            return view(request, *args, **kwargs)

        return inner

    return wrap


def _actor(request: HttpRequest) -> User:
    # director_page has checked that this is the (logged-in) director.
    return cast(User, request.user)


def _refused(form: Any, problem: Exception) -> None:
    text = " ".join(problem.messages) if isinstance(problem, ValidationError) else str(problem)
    form.add_error(None, text)


def _done(request: HttpRequest, text: str, url_name: str, query: str = "") -> HttpResponse:
    messages.success(request, text)
    return redirect(reverse(url_name) + query)


def _render(request: HttpRequest, template: str, section: str, context: dict[str, Any]) -> HttpResponse:
    bound = [v for v in [*context.values(), *context.get("forms", [])] if isinstance(v, forms.forms.Form)]
    status = 400 if any(form.errors for form in bound) else 200
    return render(request, template, {"nav": "setup", "section": section, **context}, status=status)


def _action(request: HttpRequest) -> str:
    return request.POST.get("action", "") if request.method == "POST" else ""


# --- Practice and policy ---------------------------------------------------------------------------


@director_page("practice")
def practice_page(request: HttpRequest) -> HttpResponse:
    practice, policy = services.current_practice(), PracticePolicy.current()
    action = _action(request)
    practice_form = forms.PracticeForm(
        request.POST if action == "practice" else None,
        initial={"name": practice.name, "phone": practice.phone, "email": practice.email},
    )
    policy_form = forms.PolicyForm(
        request.POST if action == "policy" else None,
        initial={f: getattr(policy, f) for f in forms.PolicyForm.base_fields},
    )
    try:
        if action == "practice" and practice_form.is_valid():
            services.practice_save(actor=_actor(request), **practice_form.cleaned_data)
            return _done(request, "The practice's details are saved.", "setup:practice")
        if action == "policy" and policy_form.is_valid():
            saved = services.policy_save(actor=_actor(request), **policy_form.cleaned_data)
            breaking = [t for t in _teams_with_rule(saved) if getattr(t, "rule_problem", None)]
            if breaking:
                names = "; ".join(str(t) for t in breaking)
                messages.warning(
                    request,
                    f"{len(breaking)} active team(s) break the new team rule and cannot book intensives: "
                    f"{names}. See Staff and teams.",
                )
            return _done(request, "The booking policy is saved.", "setup:practice")
    except REFUSED as problem:
        _refused(practice_form if action == "practice" else policy_form, problem)
    context = {
        "practice": practice,
        "policy_saved": policy.pk is not None,
        "practice_form": practice_form,
        "policy_form": policy_form,
    }
    return _render(request, "scheduling/setup/practice.html", "practice", context)


# --- Locations and rooms ---------------------------------------------------------------------------


@director_page("locations")
def locations_page(request: HttpRequest) -> HttpResponse:
    action = _action(request)
    # Prefixed: both forms have a "name", and one page must not repeat an id.
    location_form = forms.LocationForm(request.POST if action == "location" else None, prefix="location")
    only = Location.objects.order_by("pk").values_list("pk", flat=True)[:2]
    room_form = forms.RoomForm(
        request.POST if action == "room" else None,
        prefix="room",
        initial={"location": only[0]} if len(only) == 1 else None,
    )
    toggle_form = forms.RoomToggleForm(request.POST if action == "toggle" else None)
    try:
        if action == "location" and location_form.is_valid():
            services.location_add(actor=_actor(request), **location_form.cleaned_data)
            return _done(request, "Location added.", "setup:locations")
        if action == "room" and room_form.is_valid():
            services.room_add(actor=_actor(request), **room_form.cleaned_data)
            return _done(request, "Room added.", "setup:locations")
        if action == "toggle" and toggle_form.is_valid():
            room = services.room_set_in_use(actor=_actor(request), **toggle_form.cleaned_data)
            text = "takes bookings again" if room.active else "is out of use: no new bookings, history kept"
            return _done(request, f"{room} {text}.", "setup:locations")
    except REFUSED as problem:
        _refused({"location": location_form, "room": room_form}.get(action, toggle_form), problem)
    locations = Location.objects.prefetch_related(Prefetch("rooms", queryset=Room.objects.order_by("name")))
    context = {
        "locations": locations,
        "location_form": location_form,
        "room_form": room_form,
        "toggle_form": toggle_form,
    }
    return _render(request, "scheduling/setup/locations.html", "locations", context)


# --- Closures --------------------------------------------------------------------------------------


@director_page("closures")
def closures_page(request: HttpRequest) -> HttpResponse:
    action = _action(request)
    year = timezone.localdate().year
    closure_form = forms.ClosureForm(request.POST if action == "add" else None)
    import_form = forms.HolidayImportForm(
        request.POST if action == "import" else None, initial={"year": year}
    )
    pick = forms.PickForm(request.POST if action == "remove" else None)
    try:
        if action == "add" and closure_form.is_valid():
            closure = services.closure_add(actor=_actor(request), **closure_form.cleaned_data)
            booked = booked_on(closure.date)
            if booked:
                day = f"{closure.date:%A %d %B %Y}"
                messages.warning(
                    request, f"{booked} appointment(s) are still booked on {day}: move or cancel them."
                )
            return _done(request, "Closure added.", "setup:closures")
        if action == "import" and import_form.is_valid():
            added = services.closures_import_holidays(
                actor=_actor(request), year=import_form.cleaned_data["year"]
            )
            return _done(request, f"{len(added)} public holiday(s) added as closures.", "setup:closures")
        if action == "remove" and pick.is_valid():
            gone = PracticeClosure.objects.filter(pk=pick.cleaned_data["pk"]).first()
            if gone is not None:
                services.closure_remove(actor=_actor(request), closure=gone)
            return _done(request, "Closure removed.", "setup:closures")
    except REFUSED as problem:
        _refused(closure_form if action == "add" else import_form, problem)
    closures = PracticeClosure.objects.filter(date__gte=timezone.localdate()).order_by("date")
    context = {
        "closures": closures,
        "closure_form": closure_form,
        "import_form": import_form,
        "country": settings.PRACTICE_COUNTRY,
        "pick": pick,
    }
    return _render(request, "scheduling/setup/closures.html", "closures", context)


# --- Appointment types -----------------------------------------------------------------------------


def _default_type(kind: str) -> AppointmentType:
    # As AppointmentType.for_kind, without its query: the saved rows are already at hand.
    default, longest, modes = TYPE_DEFAULTS[kind]
    return AppointmentType(
        kind=kind,
        default_minutes=default,
        max_minutes=longest,
        in_person=Mode.IN_PERSON in modes,
        phone=Mode.PHONE in modes,
        video=Mode.VIDEO in modes,
    )


@director_page("types")
def types_page(request: HttpRequest) -> HttpResponse:
    posted = request.POST.get("type") if request.method == "POST" else None
    saved = {row.kind: row for row in AppointmentType.objects.all()}
    rows = []
    for kind, label in AppointmentKind.choices:
        current = saved.get(kind) or _default_type(kind)
        initial = {
            "kind": kind,
            "default_minutes": current.default_minutes,
            "max_minutes": current.max_minutes,
            "in_person": current.in_person,
            "phone": current.phone,
            "video": current.video,
        }
        form = forms.AppointmentTypeForm(
            request.POST if posted == kind else None, initial=initial, prefix=kind
        )
        rows.append({"kind": kind, "label": label, "form": form, "saved": kind in saved})
        if posted == kind and form.is_valid():
            try:
                setup_services.appointment_type_save(actor=_actor(request), **form.cleaned_data)
            except REFUSED as problem:
                _refused(form, problem)
            else:
                return _done(request, f"{label}: saved.", "setup:types")
    return _render(
        request, "scheduling/setup/types.html", "types", {"rows": rows, "forms": [r["form"] for r in rows]}
    )


# --- Staff: invitations, set-up links, teams -------------------------------------------------------


def _link_for(request: HttpRequest) -> Callable[[str], str]:
    return lambda token: request.build_absolute_uri(reverse("accounts:staff_link", kwargs={"token": token}))


@director_page("staff")
def staff_page(request: HttpRequest) -> HttpResponse:
    action = _action(request)
    invite_form = forms.InviteForm(request.POST if action == "invite" else None)
    team = forms.TeamForm(request.POST if action == "team" else None)
    pick = forms.PickForm(request.POST if action == "reset" else None)
    try:
        if action == "invite" and invite_form.is_valid():
            sent = staff.staff_invite(
                actor=_actor(request), link_for=_link_for(request), **invite_form.cleaned_data
            )
            return _done(request, f"Invitation e-mailed to {sent.invitation.email}.", "setup:staff")
        if action == "team" and team.is_valid():
            formed = team_form(actor=_actor(request), **team.cleaned_data)
            return _done(request, f"Team formed: {formed}.", "setup:staff")
        if action == "reset" and pick.is_valid():
            person = User.objects.filter(pk=pick.cleaned_data["pk"], role__in=STAFF_ROLES).first()
            if person is not None:
                staff.staff_reset_link(actor=_actor(request), user=person, link_for=_link_for(request))
                return _done(request, f"A new set-up link was e-mailed to {person}.", "setup:staff")
    except REFUSED as problem:
        _refused({"invite": invite_form, "team": team}.get(action, pick), problem)
    people = (
        User.objects.filter(role__in=STAFF_ROLES)
        .select_related("therapist_profile")
        .annotate(
            has_totp=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            pending_links=Count(
                "staff_invitations",
                filter=_pending_links(),
            ),
        )
        .order_by("last_name", "first_name")
    )
    policy = PracticePolicy.current()
    context = {
        "people": people,
        "teams": _teams_with_rule(policy),
        "invite_form": invite_form,
        "team_form": team,
        "policy": policy,
        "pick": pick,
    }
    return _render(request, "scheduling/setup/staff.html", "staff", context)


def _teams_with_rule(policy: PracticePolicy) -> list[CoTherapyTeam]:
    """Every team, each active one with why it breaks the current rule (a team formed under an earlier
    rule, or a therapist's details changed): such a team is refused at every booking until replaced."""
    teams = list(
        CoTherapyTeam.objects.select_related(
            "first__therapist_profile", "second__therapist_profile"
        ).order_by("-active", "-created_at")
    )
    for each in teams:
        each.rule_problem = team_rule_problem(list(each.members), policy) if each.active else None  # type: ignore[attr-defined]
    return teams


def _pending_links() -> Q:
    return Q(
        staff_invitations__used_at__isnull=True,
        staff_invitations__revoked_at__isnull=True,
        staff_invitations__expires_at__gt=timezone.now(),
    )


# --- Working hours and time off --------------------------------------------------------------------


@director_page("hours")
def hours_page(request: HttpRequest) -> HttpResponse:
    picker = forms.TherapistPickForm(request.GET or None)
    therapist = picker.cleaned_data["therapist"] if picker.is_bound and picker.is_valid() else None
    if therapist is None:
        return _render(request, "scheduling/setup/hours.html", "hours", {"picker": picker, "therapist": None})
    action = _action(request)
    hours_form = forms.WorkingHoursForm(request.POST if action == "hours" else None)
    off_form = forms.TimeOffForm(request.POST if action == "time_off" else None)
    pick = forms.PickForm(request.POST if action in ("remove_hours", "remove_time_off") else None)
    back = f"?therapist={therapist.pk}"
    try:
        if action == "hours" and hours_form.is_valid():
            setup_services.working_hours_add(
                actor=_actor(request), therapist=therapist, **hours_form.cleaned_data
            )
            return _done(request, "Working hours added.", "setup:hours", back)
        if action == "time_off" and off_form.is_valid():
            setup_services.time_off_add(actor=_actor(request), therapist=therapist, **off_form.cleaned_data)
            return _done(request, "Time off added.", "setup:hours", back)
        if action == "remove_hours" and pick.is_valid():
            block = WorkingHours.objects.filter(pk=pick.cleaned_data["pk"], therapist__user=therapist).first()
            if block is not None:
                setup_services.working_hours_remove(actor=_actor(request), block=block)
            return _done(request, "Working hours removed.", "setup:hours", back)
        if action == "remove_time_off" and pick.is_valid():
            off = TimeOff.objects.filter(pk=pick.cleaned_data["pk"], therapist=therapist).first()
            if off is not None:
                setup_services.time_off_remove(actor=_actor(request), block=off)
            return _done(request, "Time off removed.", "setup:hours", back)
    except REFUSED as problem:
        _refused(hours_form if action == "hours" else off_form, problem)
    context = {
        "picker": picker,
        "therapist": therapist,
        "has_profile": hasattr(therapist, "therapist_profile"),
        "blocks": WorkingHours.objects.filter(therapist__user=therapist).select_related("location"),
        "time_off": TimeOff.objects.filter(therapist=therapist, ends_at__gt=timezone.now()),
        "hours_form": hours_form,
        "off_form": off_form,
        "pick": pick,
    }
    return _render(request, "scheduling/setup/hours.html", "hours", context)
