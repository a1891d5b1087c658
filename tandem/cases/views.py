from typing import Any

from django.contrib import messages
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from tandem.access.services import (
    can_create_case,
    can_edit_case,
    deny,
    get_case_for,
    get_partner_of,
)
from tandem.accounts.http import AuthedRequest
from tandem.cases import forms, selectors, services
from tandem.lib.actions import form_action
from tandem.lib.jinja import fragment


def _staff_only(request: AuthedRequest) -> None:
    if not request.user.is_practice_staff:
        raise Http404("Not found")


@require_http_methods(["GET", "POST"])
def case_list(request: AuthedRequest) -> HttpResponse:
    _staff_only(request)
    form = forms.CaseFilterForm(request.POST if request.method == "POST" else None)
    page = None
    if request.method == "GET" or form.is_valid():
        data = form.cleaned_data if form.is_bound else {}
        page = selectors.case_search(
            user=request.user,
            name_filter=form.name_filter() if form.is_bound else Q(),
            phase=data.get("phase", ""),
            therapist=data.get("therapist"),
            page=data.get("page") or 1,
            per_page=forms.PAGE_SIZE,
        )
    context = {"nav": "cases", "form": form, "page": page, "can_create": can_create_case(request.user)}
    if page is not None:
        context["rows"] = fragment("cases/_case_rows.jinja", {"cases": page.object_list})
    template = "cases/_case_results.html" if request.headers.get("HX-Request") else "cases/case_list.html"
    return render(request, template, context)


@require_http_methods(["GET", "POST"])
def case_edit(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    if not can_edit_case(request.user, case):
        raise deny(request.user, what="case.edit", object_id=case.pk, case_id=case.pk)
    initial = {
        "therapist": case.therapist,
        "team": case.team,
        "absent_partner": case.absent_partner,
        "absent_partner_note": case.absent_partner_note,
    }
    form = forms.AssignmentForm(request.POST or None, initial=initial)
    done = form_action(
        request,
        form,
        lambda data: services.case_update(actor=request.user, case=case, **data),
        success="Case updated.",
        then=redirect("cases:detail", case_id=case.pk),
    )
    if done:
        return done
    return _render_form(request, "cases/case_edit.html", {"case": case, "form": form})


def _render_form(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    status = 400 if request.method == "POST" else 200
    return render(request, template, {"nav": "cases", **context}, status=status)


@require_http_methods(["GET", "POST"])
def client_edit(request: AuthedRequest, case_id: int, client_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    if not can_edit_case(request.user, case):
        raise deny(request.user, what="client.edit", object_id=client_id, case_id=case.pk)
    client = get_partner_of(case, client_id)
    form = forms.ClientForm(request.POST or None, instance=client)
    if request.method == "POST" and form.is_valid():
        # The form validated a copy; the service applies and audits the change.
        client.refresh_from_db()
        services.client_update(actor=request.user, case=case, client=client, details=form.details())
        messages.success(request, f"Details of {client.full_name} saved.")
        return redirect("cases:detail", case_id=case.pk)
    return _render_form(request, "cases/client_edit.html", {"case": case, "client": client, "form": form})


@require_http_methods(["GET", "POST"])
def partner_add(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id)
    if not can_edit_case(request.user, case) or case.is_couple:
        raise deny(request.user, what="case.partner_add", object_id=case.pk, case_id=case.pk)
    form = forms.ClientForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.case_add_partner(actor=request.user, case=case, partner=form.details())
        messages.success(request, "Partner added: this is now a couple case.")
        return redirect("cases:detail", case_id=case.pk)
    return _render_form(request, "cases/partner_add.html", {"case": case, "form": form})


@require_http_methods(["GET", "POST"])
def problems_edit(request: AuthedRequest, case_id: int) -> HttpResponse:
    case = get_case_for(request.user, case_id, clinical=True)
    current = {f"problem_{p.problem_id}": str(p.client_id or "both") for p in case.problems.all()}
    form = forms.ProblemsForm(
        request.POST or None, case=case, initial={"presenting_notes": case.presenting_notes, **current}
    )
    done = form_action(
        request,
        form,
        lambda data: services.case_set_problems(
            actor=request.user,
            case=case,
            problems=form.selected(case),
            presenting_notes=data["presenting_notes"],
        ),
        success="Presenting problems saved.",
        then=redirect("cases:detail", case_id=case.pk),
    )
    if done:
        return done
    return _render_form(request, "cases/problems_edit.html", {"case": case, "form": form})
