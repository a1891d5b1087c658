"""Refusals and denials that a view did not handle itself, answered in one place.

- `Refusal` (bad input, or a step the domain rules do not allow): 400. A JSON request gets
  `{"error": message, "field": field}`; a page gets the message in the product's page.
- `AccessDenied` (the user may not do this): the permission layer's answer, an audited 404, so that
  a refusal never tells an outsider what exists.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme

from tandem.access.services import AccessDenied, deny
from tandem.lib.errors import Refusal


def wants_json(request: HttpRequest) -> bool:
    """A JSON API call: it sent JSON, or it asks for JSON rather than a page."""
    if request.content_type == "application/json":
        return True
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def refusal_response(request: HttpRequest, refusal: Refusal) -> HttpResponse:
    if wants_json(request):
        return JsonResponse({"error": refusal.message, "field": refusal.field}, status=400)
    referer = request.headers.get("Referer", "")
    safe = url_has_allowed_host_and_scheme(referer, {request.get_host()}, require_https=request.is_secure())
    context = {"message": refusal.message, "back": referer if safe else ""}
    return render(request, "lib/refusal.html", context, status=400)


class RefusalMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, Refusal):
            return refusal_response(request, exception)
        if isinstance(exception, AccessDenied):
            match = request.resolver_match
            what = match.view_name if match else "page"
            object_id = next(iter(match.kwargs.values()), "") if match and match.kwargs else ""
            # Raised here, Django's handler turns it into the ordinary 404 page.
            raise deny(request.user, what=what, object_id=object_id) from exception
        return None
