"""The one shape of a write from a page: parse the form, call the service, and then either say it was done
and redirect, or show the service's refusal with the form (nothing changed).

`AccessDenied` is not caught here: the permission layer answers it with the audited 404
(`access.middleware`).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from tandem.lib.errors import Refusal

T = TypeVar("T")
# What to say when it worked: a fixed message, or one made from the service's result.
Said = str | Callable[[T], str]
# Where to go next: a response, a URL (as `redirect` takes), or either made from the result.
Next = HttpResponse | str | Callable[[T], Any]


def add_refusal(form: forms.BaseForm, refusal: Refusal) -> None:
    """The refusal on the form: on its field when it names one of the form's, else above the form."""
    field = refusal.field if refusal.field in form.fields else None
    form.add_error(field, refusal.message)


def _done(request: HttpRequest, result: T, success: "Said[T]", then: "Next[T]") -> HttpResponse:
    messages.success(request, success(result) if callable(success) else success)
    target = then(result) if callable(then) else then
    return target if isinstance(target, HttpResponse) else redirect(target)


def form_action(
    request: HttpRequest,
    form: forms.BaseForm,
    action: Callable[[dict[str, Any]], T],
    *,
    success: "Said[T]",
    then: "Next[T]",
) -> HttpResponse | None:
    """On a valid POST, run `action(form.cleaned_data)` (one service call). Done: the success message
    and the redirect. Otherwise None, and the view renders the form again (with 400 when it has errors):
    not a POST, the form invalid, or the service refused (its message is now on the form)."""
    if request.method != "POST" or not form.is_valid():
        return None
    try:
        result = action(form.cleaned_data)
    except Refusal as refusal:
        add_refusal(form, refusal)
        return None
    return _done(request, result, success, then)


def post_action(
    request: HttpRequest, action: Callable[[], T], *, success: "Said[T]", then: Any
) -> HttpResponse:
    """A button without a form: run `action`; say it was done, or show the refusal at the top of the
    page; then go to `then` (a response, or a URL as `redirect` takes) either way."""
    try:
        result = action()
    except Refusal as refusal:
        messages.error(request, refusal.message)
    else:
        messages.success(request, success(result) if callable(success) else success)
    return then if isinstance(then, HttpResponse) else redirect(then)
