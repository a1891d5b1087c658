"""Each role against each case page: allowed (200) or not found (404), and a refusal changes nothing."""

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tests.cast import Cast, login

ROLES = ["director", "therapist_a", "cotherapist", "therapist_b", "coordinator", "partner_a", "partner_b"]

# role -> (detail, edit, problems, client_edit, partner_add) on the couple case / the solo case
EXPECTED = {
    "director": (200, 200, 200, 200, 200),
    "therapist_a": (200, 200, 200, 200, 200),
    "cotherapist": (200, 200, 200, 200, 404),  # in the couple's team, not on the solo case
    "therapist_b": (404, 404, 404, 404, 404),
    "coordinator": (200, 200, 404, 200, 200),  # demographics and scheduling, no clinical content
    "partner_a": (404, 404, 404, 404, 404),  # clients only ever reach their portal
    "partner_b": (404, 404, 404, 404, 404),
}


def _urls(cast: Cast) -> list[str]:
    couple, solo = cast.couple_case, cast.solo_case
    return [
        reverse("cases:detail", kwargs={"case_id": couple.pk}),
        reverse("cases:edit", kwargs={"case_id": couple.pk}),
        reverse("cases:problems", kwargs={"case_id": couple.pk}),
        reverse("cases:client_edit", kwargs={"case_id": couple.pk, "client_id": couple.partner_a_id}),
        reverse("cases:partner_add", kwargs={"case_id": solo.pk}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_case_pages_by_role(client, cast, role):
    login(client, getattr(cast, role))
    statuses = tuple(client.get(url).status_code for url in _urls(cast))
    assert statuses == EXPECTED[role]


def test_anonymous_is_sent_to_log_in(client, cast):
    for url in _urls(cast):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


@pytest.mark.parametrize("role", ["therapist_b", "partner_a", "partner_b"])
def test_outsider_post_changes_nothing_and_is_audited(client, cast, role):
    login(client, getattr(cast, role))
    case = cast.couple_case
    before = (case.therapist_id, case.team_id, case.partner_a.first_name)
    edit = client.post(reverse("cases:edit", kwargs={"case_id": case.pk}), {"therapist": cast.therapist_b.pk})
    rename = client.post(
        reverse("cases:client_edit", kwargs={"case_id": case.pk, "client_id": case.partner_a_id}),
        {"first_name": "Changed", "last_name": "Changed"},
    )
    assert (edit.status_code, rename.status_code) == (404, 404)
    case.refresh_from_db()
    case.partner_a.refresh_from_db()
    assert (case.therapist_id, case.team_id, case.partner_a.first_name) == before
    denials = AuditEvent.objects.filter(action="access.denied", actor=getattr(cast, role))
    assert denials.count() == 2


def test_guessing_other_ids_answers_404(client, cast):
    login(client, cast.therapist_a)
    couple = cast.couple_case
    # A real client id that is not a partner of this case, and ids that do not exist at all.
    stranger = cast.solo_case.partner_a_id
    assert client.get(f"/cases/{couple.pk}/clients/{stranger}/").status_code == 404
    assert client.get("/cases/999999/").status_code == 404
    assert client.get("/cases/999999/edit/").status_code == 404


@pytest.mark.parametrize("role", ROLES)
def test_case_list_shows_only_visible_cases(client, cast, role):
    login(client, getattr(cast, role))
    response = client.get(reverse("cases:list"))
    if role in ("partner_a", "partner_b"):
        assert response.status_code == 404
        return
    shown = {c.pk for c in response.context["page"].object_list}
    expected = {
        "director": {cast.couple_case.pk, cast.solo_case.pk},
        "coordinator": {cast.couple_case.pk, cast.solo_case.pk},
        "therapist_a": {cast.couple_case.pk, cast.solo_case.pk},
        "cotherapist": {cast.couple_case.pk},
        "therapist_b": set(),
    }[role]
    assert shown == expected


def test_coordinator_never_sees_clinical_text(client, cast):
    login(client, cast.coordinator)
    page = client.get(reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})).content.decode()
    assert "Synthetic presenting notes" not in page
    assert "Presenting problems" not in page
    login(client, cast.therapist_a)
    page = client.get(reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})).content.decode()
    assert "Synthetic presenting notes" in page
