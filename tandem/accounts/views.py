from typing import Any

from django.http import HttpRequest, HttpResponse


def locked_out(request: HttpRequest, credentials: Any = None, *args: Any, **kwargs: Any) -> HttpResponse:
    return HttpResponse("Too many attempts. Try again later.", status=429)
