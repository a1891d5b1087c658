"""The availability page: the earliest intensive blocks or weekly series for a case, each bookable."""

import datetime as dt
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.core.validators import MaxValueValidator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from tandem.access.services import AccessDenied, can_edit_case, get_case_for
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import CLINICAL_ROLES, CoTherapyTeam, User
from tandem.cases.models import Case, Client
from tandem.lib.forms import DateField, IntegerField, TimeField
from tandem.lib.parse import validate_day
from tandem.lib.time import local_today
from tandem.practice.models import PracticePolicy, Room
from tandem.scheduling import services
from tandem.scheduling.availability import (
    IntensiveOption,
    StandardOption,
    intensive_nothing_fits,
    intensive_options,
    standard_options,
)
from tandem.scheduling.models import LONGEST_APPOINTMENT, AppointmentKind, Mode

OPTIONS_SHOWN = 10
# A booking button's length in minutes; the services refuse anything longer anyway, but a number past
# what `timedelta` holds would overflow before they are reached.
LONGEST_MINUTES = int(LONGEST_APPOINTMENT.total_seconds() // 60)


def _from_tomorrow(data: Any) -> Any:
    """A blank earliest day searches from tomorrow, as the page first does, and the form shows that day:
    the results never follow a date the form does not display."""
    if data is None or data.get("first_day"):
        return data
    filled = data.copy()
    filled["first_day"] = (local_today() + dt.timedelta(days=1)).isoformat()
    return filled


class SearchForm(forms.Form):
    first_day = DateField(
        label="Earliest first day",
        required=False,
        validators=[validate_day],
        help_text="Blank: from tomorrow.",
    )
    daily_minutes = IntegerField(label="Minutes a day", min_value=15)

    def __init__(self, data: Any = None, *args: object, longest: int, **kwargs: object) -> None:
        super().__init__(_from_tomorrow(data), *args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["daily_minutes"]
        assert isinstance(field, forms.IntegerField)
        # Setting max_value after construction adds no validator; the validator is what refuses.
        field.max_value = longest
        field.validators.append(MaxValueValidator(longest))
        field.widget.attrs.update({"max": longest, "step": 15})
        field.help_text = f"At most {longest} minutes, the practice's longest intensive day."
        self.fields["first_day"].error_messages["invalid"] = "Give a date such as 2027-03-01."


class BookForm(forms.Form):
    """The hidden fields of one option's button; the booking service checks everything again."""

    first_day = DateField(validators=[validate_day])
    start_time = TimeField()
    minutes = IntegerField(min_value=1, max_value=LONGEST_MINUTES)
    room = forms.ModelChoiceField(queryset=Room.objects.filter(active=True))
    team = forms.ModelChoiceField(
        queryset=CoTherapyTeam.objects.select_related(
            "first__therapist_profile", "second__therapist_profile"
        ),
        required=False,
    )
    therapist = forms.ModelChoiceField(queryset=User.objects.filter(role__in=CLINICAL_ROLES), required=False)


WEEKDAYS = [
    (0, "Monday"),
    (1, "Tuesday"),
    (2, "Wednesday"),
    (3, "Thursday"),
    (4, "Friday"),
    (5, "Saturday"),
    (6, "Sunday"),
]


class WeeklySearchForm(forms.Form):
    first_day = DateField(
        label="Earliest first session",
        required=False,
        validators=[validate_day],
        help_text="Blank: from tomorrow.",
    )
    weekdays = forms.TypedMultipleChoiceField(
        label="Weekdays",
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Tick one (or two for twice a week), or none to see every weekday.",
    )
    per_week = forms.TypedChoiceField(
        label="Sessions a week", choices=[(1, "Once a week"), (2, "Twice a week")], coerce=int
    )
    weeks = IntegerField(label="For how many weeks", min_value=1, max_value=52, initial=12)
    minutes = IntegerField(label="Minutes a session", min_value=15, max_value=120, initial=60)
    mode = forms.ChoiceField(label="Held", choices=Mode.choices, initial=Mode.IN_PERSON)
    attends = forms.ChoiceField(label="Who attends", required=False)

    def __init__(self, data: Any = None, *args: object, case: Case, **kwargs: object) -> None:
        super().__init__(_from_tomorrow(data), *args, **kwargs)  # type: ignore[arg-type]
        self.fields["first_day"].error_messages["invalid"] = "Give a date such as 2027-03-01."
        self.case = case
        field = self.fields["attends"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = attends_choices(case)
        field.help_text = "Conjunctive sessions are one partner's alone: only their own bookings count."

    def attendees(self) -> list[Client] | None:
        return chosen_attendee(self.case, self.cleaned_data.get("attends"))

    def kind(self) -> str:
        return AppointmentKind.CONJUNCTIVE if self.cleaned_data.get("attends") else AppointmentKind.STANDARD

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        chosen, per_week = data.get("weekdays") or [], data.get("per_week")
        if chosen and per_week and len(chosen) != per_week:
            raise forms.ValidationError(
                f"Tick {per_week} weekday{'s' if per_week == 2 else ''} for {per_week} session"
                f"{'s' if per_week == 2 else ''} a week, or none to see every weekday."
            )
        return data


def attends_choices(case: Case) -> list[tuple[str, str]]:
    if not case.is_couple:
        return [("", f"{case.partner_a.full_name}: standard sessions")]
    return [("", "Both partners: standard sessions")] + [
        (str(c.pk), f"{c.full_name} alone: conjunctive sessions") for c in case.partners
    ]


def chosen_attendee(case: Case, choice: object) -> list[Client] | None:
    """The one partner a conjunctive series is for, or None (standard: the kind's own rule)."""
    if not choice:
        return None
    # An id that is not one of the case's partners reaches the service as an empty choice, which it refuses.
    return [c for c in case.partners if str(c.pk) == choice]


class WeeklyBookForm(forms.Form):
    first_day = DateField(validators=[validate_day])
    until = DateField(validators=[validate_day])
    weekdays = forms.TypedMultipleChoiceField(choices=WEEKDAYS, coerce=int)
    start_time = TimeField()
    minutes = IntegerField(min_value=1, max_value=LONGEST_MINUTES)
    mode = forms.ChoiceField(choices=Mode.choices)
    room = forms.ModelChoiceField(queryset=Room.objects.filter(active=True), required=False)
    attends = forms.CharField(required=False, max_length=20)


def _weekly_search(case: Case, form: WeeklySearchForm) -> list[StandardOption]:
    if not form.is_valid():
        return []
    data = form.cleaned_data
    try:
        return standard_options(
            case=case,
            first_day=data["first_day"],
            weekdays=data["weekdays"] or None,
            per_week=data["per_week"],
            minutes=data["minutes"],
            weeks=data["weeks"],
            mode=data["mode"],
            kind=form.kind(),
            attendees=form.attendees(),
            limit=OPTIONS_SHOWN,
        )
    except services.BookingInvalid as refusal:
        form.add_error(None, str(refusal))
        return []


def _weekly(request: AuthedRequest, case: Case) -> HttpResponse:
    """The weekly-sessions tab: search (GET) and book one option as a whole series (POST)."""
    refusal = ""
    status = 200
    if request.method == "POST":
        book = WeeklyBookForm(request.POST)
        search = WeeklySearchForm(
            {
                "first_day": request.POST.get("search_first_day"),
                "weekdays": request.POST.getlist("search_weekdays"),
                "per_week": request.POST.get("search_per_week"),
                "weeks": request.POST.get("search_weeks"),
                "minutes": request.POST.get("minutes"),
                "mode": request.POST.get("mode"),
                "attends": request.POST.get("attends"),
            },
            case=case,
        )
        if not book.is_valid():
            refusal, status = "That option could not be read: search again and choose one.", 400
        else:
            data = book.cleaned_data
            attendees = chosen_attendee(case, data["attends"])
            try:
                series = services.series_book(
                    actor=request.user,
                    case=case,
                    kind=AppointmentKind.CONJUNCTIVE if data["attends"] else AppointmentKind.STANDARD,
                    clients=attendees,
                    therapists=case.clinicians,
                    first_day=data["first_day"],
                    start_time=data["start_time"],
                    weekdays=data["weekdays"],
                    minutes=data["minutes"],
                    until=data["until"],
                    room=data["room"],
                    mode=data["mode"],
                )
            except (services.BookingConflict, services.BookingInvalid, AccessDenied) as error:
                refusal = f"Not booked: {error} Nothing was booked; choose another option."
                status = 409 if isinstance(error, services.BookingConflict) else 400
            else:
                messages.success(
                    request,
                    f"Weekly sessions booked for {case.reference}: "
                    f"{series.appointments.count()} sessions from "
                    f"{data['first_day']:%a} {data['first_day'].day} {data['first_day']:%B} at "
                    f"{data['start_time']:%H:%M}.",
                )
                return redirect(f"{reverse('scheduling:availability', args=[case.pk])}?tab=weekly")
    else:
        initial = {
            "first_day": local_today() + dt.timedelta(days=1),
            "per_week": 1,
            "weeks": 12,
            "minutes": services.default_minutes(AppointmentKind.STANDARD),
            "mode": Mode.IN_PERSON,
        }
        query = request.GET.copy()
        query.pop("tab", None)
        search = WeeklySearchForm(query or initial, case=case)
    options = _weekly_search(case, search)
    search_data = search.cleaned_data if search.is_valid() else {}
    context = {
        "nav": "cases",
        "case": case,
        "tab": "weekly",
        "weekly_form": search,
        "weekly_options": options,
        "search": search_data,
        "refusal": refusal,
        "no_team": not case.clinicians,
    }
    if search.errors and status == 200:
        status = 400
    return render(request, "scheduling/availability.html", context, status=status)


def _search(case: Case, form: SearchForm) -> list[IntensiveOption]:
    if not form.is_valid():
        return []
    try:
        return intensive_options(
            case=case,
            first_day=form.cleaned_data["first_day"],
            daily_minutes=form.cleaned_data["daily_minutes"],
            limit=OPTIONS_SHOWN,
        )
    except services.BookingInvalid as refusal:
        form.add_error(None, str(refusal))
        return []


@require_http_methods(["GET", "POST"])
def availability(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, audit_view=request.method == "GET")
    if not can_edit_case(request.user, case):
        raise PermissionDenied("Only the front desk, the director and the case's therapists book for a case.")
    if request.GET.get("tab") == "weekly" or request.POST.get("format") == "weekly":
        return _weekly(request, case)
    policy = PracticePolicy.current()
    longest = policy.intensive_minutes
    refusal = ""
    status = 200
    if request.method == "POST":
        book = BookForm(request.POST)
        search = SearchForm(
            {"first_day": request.POST.get("search_first_day"), "daily_minutes": request.POST.get("minutes")},
            longest=longest,
        )
        if not book.is_valid():
            refusal, status = "That option could not be read: search again and choose one.", 400
        else:
            data = book.cleaned_data
            try:
                series = services.intensive_book(
                    actor=request.user,
                    case=case,
                    room=data["room"],
                    first_day=data["first_day"],
                    start_time=data["start_time"],
                    team=data["team"],
                    therapist=data["therapist"] if data["team"] is None else None,
                    minutes=data["minutes"],
                )
            except (services.BookingConflict, services.BookingInvalid, AccessDenied) as error:
                refusal = f"Not booked: {error} Nothing was booked; choose another option."
                status = 409 if isinstance(error, services.BookingConflict) else 400
            else:
                messages.success(
                    request,
                    f"Intensive booked for {case.reference}: {series.appointments.count()} days from "
                    f"{data['first_day']:%a} {data['first_day'].day} {data['first_day']:%B} at "
                    f"{data['start_time']:%H:%M} in {data['room'].name}.",
                )
                query = f"first_day={data['first_day']:%Y-%m-%d}&daily_minutes={data['minutes']}"
                return redirect(f"{reverse('scheduling:availability', args=[case.pk])}?{query}")
    else:
        search = SearchForm(
            request.GET or {"first_day": local_today() + dt.timedelta(days=1), "daily_minutes": longest},
            longest=longest,
        )
    options = _search(case, search)
    context = {
        "nav": "cases",
        "case": case,
        "tab": "intensive",
        "form": search,
        "options": options,
        "refusal": refusal,
        "days": policy.intensive_days,
        "weekdays_only": policy.intensive_weekdays_only,
        "searched_first_day": search.cleaned_data.get("first_day") if search.is_valid() else None,
        "nothing_fits": intensive_nothing_fits(case=case) if search.is_valid() and not options else "",
    }
    if search.errors and status == 200:
        status = 400
    return render(request, "scheduling/availability.html", context, status=status)
