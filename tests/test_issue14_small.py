"""Issue 14's smaller items, one test each: each failed before its fix."""

from django.urls import reverse

from tandem.cases.models import Case, Phase
from tests.cast import login


def test_individual_case_missing_only_the_reason_shows_only_that_error(client, cast):
    login(client, cast.coordinator)
    response = client.post(
        reverse("cases:create"),
        {"kind": "individual", "phase": Phase.INTAKE, "a-first_name": "Rowan", "a-last_name": "Achterberg"},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "say why the partner does not attend" in body
    assert "Enter the first name." not in body and "Enter the last name." not in body
    assert not Case.objects.filter(partner_a__last_name="Achterberg").exists()
