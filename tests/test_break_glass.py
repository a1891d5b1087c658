import datetime as dt

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from tandem.access.models import BreakGlassGrant
from tandem.access.services import AccessDenied, break_glass_open
from tandem.audit.models import AuditEvent
from tandem.lib.errors import Refusal
from tests.cast import login


def test_covering_therapist_gets_time_limited_access(client, cast):
    case = cast.couple_case
    detail = reverse("cases:detail", kwargs={"case_id": case.pk})
    login(client, cast.therapist_b)
    assert client.get(detail).status_code == 404

    response = client.post(
        reverse("access:break_glass"),
        {"reference": case.reference, "reason": "Covering for Tess: client called in crisis", "hours": "1"},
    )
    assert response.status_code == 302 and response["Location"] == detail
    assert client.get(detail).status_code == 200
    assert client.get(reverse("cases:problems", kwargs={"case_id": case.pk})).status_code == 200
    assert AuditEvent.objects.filter(action="access.break_glass", actor=cast.therapist_b, case=case).exists()

    with time_machine.travel(timezone.now() + dt.timedelta(minutes=61)):
        login(client, cast.therapist_b)
        assert client.get(detail).status_code == 404


def test_grant_is_shown_to_the_case_therapists(client, cast):
    break_glass_open(user=cast.therapist_b, case_id=cast.couple_case.pk, reason="Covering during sick leave")
    login(client, cast.therapist_a)
    page = client.get(reverse("cases:detail", kwargs={"case_id": cast.couple_case.pk})).content.decode()
    assert "Emergency access to this case" in page and "Covering during sick leave" in page


@pytest.mark.parametrize(
    ("reason", "hours", "message"),
    [("", 1, "reason"), ("too short", 1, "reason"), ("A proper reason for access", 9, "4 hours")],
)
def test_break_glass_needs_reason_and_limit(cast, reason, hours, message):
    with pytest.raises(Refusal, match=message):
        break_glass_open(user=cast.therapist_b, case_id=cast.couple_case.pk, reason=reason, hours=hours)
    assert not BreakGlassGrant.objects.exists()


def test_front_desk_and_clients_cannot_break_glass(client, cast):
    with pytest.raises(AccessDenied):
        break_glass_open(
            user=cast.coordinator, case_id=cast.couple_case.pk, reason="A long enough reason here"
        )
    login(client, cast.partner_a)
    assert client.get(reverse("access:break_glass")).status_code == 404


def test_unknown_reference_says_so_and_grants_nothing(client, cast):
    login(client, cast.therapist_b)
    response = client.post(
        reverse("access:break_glass"),
        {"reference": "T-0000-00000", "reason": "A long enough reason here", "hours": "1"},
    )
    assert response.status_code == 400
    assert "No case has that reference" in response.content.decode()
    assert not BreakGlassGrant.objects.exists()
