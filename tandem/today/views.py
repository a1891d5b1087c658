"""The pages that gather every app: the front door ("/": the public home page for visitors, the portal for
clients, Today for staff) and the case page."""

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.template.backends.utils import csrf_input
from django.utils import timezone
from django.utils.safestring import SafeString

from tandem.access.services import can_edit_case, can_see_clinical, care_scope, get_case_for, is_assigned
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import CLINICAL_ROLES, Role
from tandem.lib.jinja import fragment
from tandem.lib.time import local_today
from tandem.pathway import selectors as pathway_selectors
from tandem.public import views as public_views
from tandem.today import selectors


@login_not_required
def today(request: AuthedRequest) -> HttpResponse:
    user: Any = request.user
    if not user.is_authenticated:
        # The site's front door: visitors get the public home page; staff and clients log in from it.
        return public_views.home(request)
    if user.role == Role.CLIENT:
        return redirect("portal:home")
    if not user.is_practice_staff:
        raise Http404("Not found")
    now = timezone.now()
    day = local_today()
    # The cases in the user's care, read once for every list on the page (access.services.CareScope);
    # the other apps' fragments take it from the context as `care`.
    care = care_scope(user)
    mine = selectors.appointments_on(user=user, day=day)
    practice = selectors.practice_day(user=user, day=day, now=now)
    context = {
        "nav": "today",
        "day": day,
        "care": care,
        "practice": practice,
        **_tables(user, mine, practice),
        # The homework block is about the cases of the clinician's own sessions.
        "day_case_ids": sorted({a.case_id for a in mine}),
        "needing_action": selectors.cases_needing_action(user=user, now=now, scope=care),
        "pathway": pathway_selectors.today_items(user=user, now=now, scope=care),
    }
    # Over a hundred case links for the director: printed by Jinja2 (tandem/lib/jinja.py says why).
    context["action_lists"] = fragment("today/_action.jinja", context)
    return render(request, "today/today.html", context)


def _tables(user: Any, mine: list[Any], practice: selectors.PracticeDay | None) -> dict[str, SafeString]:
    """A clinician's own sessions and, for who runs the practice's day, its next ones: printed by Jinja2
    (tandem/lib/jinja.py says why), the page around them by Django."""
    tables = {}
    if user.role in CLINICAL_ROLES:
        tables["my_table"] = fragment(
            "today/_appointments.jinja",
            {"appointments": mine, "with_people": False, "label": "My appointments today"},
        )
    if practice:
        tables["practice_table"] = fragment(
            "today/_appointments.jinja",
            {"appointments": practice.next_up, "with_people": True, "label": "The practice's next sessions"},
        )
    return tables


# The case page gathers what every app shows of one case (appointments, the pathway, each app's fragment),
# so like Today it sits at the top; tandem/urls.py mounts it as cases:detail.
def case_detail(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    clinical = can_see_clinical(request.user, case)
    context = {
        "nav": "cases",
        "case": case,
        "clinical": clinical,
        "can_edit": can_edit_case(request.user, case),
        "assigned": is_assigned(request.user, case),
        **selectors.case_detail_context(case=case, now=timezone.now(), user=request.user, clinical=clinical),
    }
    if not clinical:
        context["problems"] = []
    context.update(_case_lists(request, context))
    return render(request, "cases/case_detail.html", context)


def _case_lists(request: AuthedRequest, context: dict[str, Any]) -> dict[str, SafeString]:
    """The case page's sessions and timeline, printed by Jinja2 (tandem/lib/jinja.py says why)."""
    # The CSRF field once: the engine's own csrf_input masks the token afresh wherever it is printed.
    shared = {"csrf": csrf_input(request), "here": request.get_full_path()}
    return {
        "upcoming_list": fragment(
            "cases/_appointments.jinja",
            {**shared, "appointments": context["upcoming"], "empty": "Nothing booked.", "record": False},
        ),
        "recent_list": fragment(
            "cases/_appointments.jinja",
            {
                **shared,
                "appointments": context["recent"],
                "empty": "No sessions yet.",
                "record": context["can_edit"],
            },
        ),
        "timeline_list": fragment("pathway/_timeline.jinja", {"timeline": context["timeline"]}),
    }
