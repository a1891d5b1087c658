from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from tandem.access.forms import BreakGlassForm
from tandem.access.models import BreakGlassGrant
from tandem.access.services import break_glass_open
from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import Role
from tandem.cases.models import Case
from tandem.lib.actions import add_refusal
from tandem.lib.errors import Refusal


@require_http_methods(["GET", "POST"])
def break_glass(request: AuthedRequest) -> HttpResponse:
    user: Any = request.user
    if user.role not in (Role.DIRECTOR, Role.THERAPIST):
        raise Http404("Not found")
    form = BreakGlassForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        case = Case.objects.filter(reference__iexact=form.cleaned_data["reference"].strip()).first()
        if case is None:
            form.add_error("reference", "No case has that reference. Check it with the front desk.")
        else:
            try:
                grant = break_glass_open(
                    user=user,
                    case_id=case.pk,
                    reason=form.cleaned_data["reason"],
                    hours=form.cleaned_data["hours"],
                )
            except Refusal as refusal:
                add_refusal(form, refusal)
            else:
                until = timezone.localtime(grant.expires_at)
                messages.warning(
                    request, f"Emergency access to {case.reference} until {until:%H:%M} is recorded."
                )
                return redirect("cases:detail", case_id=case.pk)
    grants = BreakGlassGrant.objects.filter(user=user).select_related("case")[:10]
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "access/break_glass.html",
        {"nav": "break_glass", "form": form, "grants": grants},
        status=status,
    )
