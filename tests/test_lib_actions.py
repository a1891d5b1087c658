"""The shared form action: a service's Refusal goes on the form (or the page), nothing else is caught."""

import pytest
from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.test import RequestFactory

from tandem.access.services import AccessDenied
from tandem.lib.actions import form_action, post_action
from tandem.lib.errors import Refusal


class ReasonForm(forms.Form):
    reason = forms.CharField()


def _request(method: str, data: dict | None = None):
    request = getattr(RequestFactory(), method)("/somewhere/", data or {})
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    return request


def _said(request) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(request)]


def test_not_a_post_or_an_invalid_form_calls_nothing():
    called: list[dict] = []
    for request, form in ((_request("get"), ReasonForm()), (_request("post"), ReasonForm({}))):
        response = form_action(request, form, called.append, success="Done.", then="/next/")
        assert response is None
    assert called == []


def test_done_says_so_and_redirects_with_the_result():
    request = _request("post", {"reason": "because"})
    response = form_action(
        request,
        ReasonForm(request.POST),
        lambda data: data["reason"].upper(),
        success=lambda result: f"Saved {result}.",
        then=lambda result: f"/next/{result}/",
    )
    assert response is not None and response.status_code == 302 and response["Location"] == "/next/BECAUSE/"
    assert _said(request) == [("success", "Saved BECAUSE.")]


@pytest.mark.parametrize(
    ("field", "where"), [("reason", "reason"), (None, "__all__"), ("elsewhere", "__all__")]
)
def test_a_refusal_goes_on_the_form_at_its_field(field, where):
    request = _request("post", {"reason": "x"})
    form = ReasonForm(request.POST)

    def refuse(data):
        raise Refusal("Write the reason in a sentence.", field=field)

    assert form_action(request, form, refuse, success="Done.", then="/next/") is None
    assert form.errors == {where: ["Write the reason in a sentence."]}
    assert _said(request) == []


def test_access_denied_is_not_a_form_error():
    request = _request("post", {"reason": "x"})

    def deny(data):
        raise AccessDenied("Only the director.")

    with pytest.raises(AccessDenied):
        form_action(request, ReasonForm(request.POST), deny, success="Done.", then="/next/")
    with pytest.raises(AccessDenied):
        post_action(request, lambda: deny({}), success="Done.", then="/next/")


def test_a_button_says_done_or_refused_and_redirects_either_way():
    request = _request("post")
    response = post_action(request, lambda: 3, success=lambda n: f"{n} done.", then="/back/")
    assert response["Location"] == "/back/" and _said(request) == [("success", "3 done.")]

    def refuse():
        raise Refusal("Already done.")

    request = _request("post")
    response = post_action(request, refuse, success="Done.", then="/back/")
    assert response["Location"] == "/back/" and _said(request) == [("error", "Already done.")]
