"""A Refusal is a 400 with its message (page or JSON); an AccessDenied is the audited 404, in one place."""

import pytest

from tandem.audit.models import AuditEvent
from tests.cast import login

pytestmark = pytest.mark.urls("tests.refusal_urls")


def test_refusal_on_a_page_is_400_with_the_message_in_the_product_page(client, cast):
    login(client, cast.coordinator)
    response = client.post("/test-only/refuses/", HTTP_REFERER="http://testserver/cases/")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Write the reason (at least 15 characters)." in page
    assert "<h1>That was not possible</h1>" in page and 'href="http://testserver/cases/"' in page


def test_refusal_never_links_back_to_another_site(client, cast):
    login(client, cast.coordinator)
    response = client.post("/test-only/refuses/", HTTP_REFERER="https://elsewhere.example/phish")
    assert response.status_code == 400
    assert "elsewhere.example" not in response.content.decode()


def test_refusal_to_a_json_request_is_json(client, cast):
    login(client, cast.coordinator)
    response = client.post("/test-only/refuses/", data="{}", content_type="application/json")
    assert response.status_code == 400
    assert response.json() == {"error": "Write the reason (at least 15 characters).", "field": "reason"}
    asked = client.get("/test-only/refuses/", HTTP_ACCEPT="application/json")
    assert asked.status_code == 400 and asked.json()["field"] == "reason"


def test_access_denied_is_the_audited_404_and_says_nothing(client, cast):
    login(client, cast.therapist_b)
    response = client.post("/test-only/denies/42/")
    assert response.status_code == 404
    assert "clinical director" not in response.content.decode()
    denial = AuditEvent.objects.get(action="access.denied")
    assert denial.actor == cast.therapist_b
    assert denial.detail == {"object": "test_denies", "id": "42"}
