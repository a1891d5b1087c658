"""The project's URLs plus three views that only raise: the one middleware answers for them."""

from django.http import HttpRequest, HttpResponse
from django.urls import path

from tandem.access.services import AccessDenied
from tandem.lib.errors import Refusal
from tandem.urls import urlpatterns as project_urls


def refuses(request: HttpRequest) -> HttpResponse:
    raise Refusal("Write the reason (at least 15 characters).", field="reason")


def denies(request: HttpRequest, thing_id: int) -> HttpResponse:
    raise AccessDenied("Only the clinical director can do that.")


urlpatterns = [
    path("test-only/refuses/", refuses, name="test_refuses"),
    path("test-only/denies/<int:thing_id>/", denies, name="test_denies"),
    *project_urls,
]
