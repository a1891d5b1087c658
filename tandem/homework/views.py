"""The therapists' homework page of a case: assign, read both partners' entries, unlock the next stage."""

from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tandem.access.clinical import can_assign_homework
from tandem.access.services import get_case_for
from tandem.accounts.http import AuthedRequest
from tandem.homework import selectors, services
from tandem.homework.forms import AssignForm
from tandem.lib.actions import form_action, post_action


@require_http_methods(["GET", "POST"])
def case_homework(request: AuthedRequest, case_id: int) -> HttpResponse:
    # Clients never reach staff pages (staff_cases_visible_to), the front desk never sees clinical content.
    case = get_case_for(request.user, case_id, clinical=True, audit_view=request.method == "GET")
    may_assign = can_assign_homework(request.user, case)
    form = AssignForm(request.POST if request.method == "POST" else None, case=case)
    if may_assign:
        done = form_action(
            request,
            form,
            lambda data: services.assignment_create(
                actor=request.user,
                case=case,
                exercise=data["exercise"],
                client=form.client(),
                times_expected=data["times_expected"],
                due_on=data["due_on"],
                therapist_note=data["therapist_note"],
            ),
            success=lambda assignment: f"“{assignment.exercise.title}” assigned.",
            then=redirect("homework:case", case_id=case.pk),
        )
        if done:
            return done
    elif request.method == "POST":
        form.add_error(None, "Only the case's therapists or the clinical director can assign homework.")
    context = {
        "nav": "cases",
        "case": case,
        "form": form,
        "may_assign": may_assign,
        "assignments": selectors.case_homework(case=case),
    }
    return render(request, "homework/case_homework.html", context, status=400 if form.errors else 200)


@require_POST
def unlock_next(request: AuthedRequest, assignment_id: int) -> HttpResponse:
    assignment = selectors.assignment_for_staff(user=request.user, assignment_id=assignment_id)
    return post_action(
        request,
        lambda: services.assignment_unlock_next(actor=request.user, assignment=assignment),
        success=lambda unlocked: f"“{unlocked.exercise.title}” unlocked.",
        then=redirect("homework:case", case_id=assignment.case_id),
    )
