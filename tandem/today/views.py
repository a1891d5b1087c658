"""The site's front door ("/"): visitors see the public home page, clients their portal, staff Today."""

from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from tandem.accounts.http import AuthedRequest
from tandem.accounts.models import Role
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
    context = {
        "nav": "today",
        "day": local_today(),
        "appointments": selectors.appointments_on(user=user, day=local_today()),
        "needing_action": selectors.cases_needing_action(user=user, now=now),
        "pathway": pathway_selectors.today_items(user=user, now=now),
    }
    return render(request, "today/today.html", context)
