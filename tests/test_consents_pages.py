"""Consent pages: each partner sees and signs only their own consents; staff pages scoped; few queries."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tandem.audit.models import AuditEvent
from tandem.consents.models import Consent, ConsentKind
from tandem.consents.services import consent_request
from tests.cast import login
from tests.consents_support import release, signed


@pytest.fixture
def pair(cast):
    """A telehealth consent waiting for each partner."""
    case = cast.couple_case
    mine = consent_request(
        actor=cast.coordinator, case=case, client=case.partner_a, kind=ConsentKind.TELEHEALTH
    )
    theirs = consent_request(
        actor=cast.coordinator, case=case, client=case.partner_b, kind=ConsentKind.TELEHEALTH
    )
    release(case, case.partner_b, staff=cast.therapist_a, recipient="BLAIR-RECIPIENT-CLINIC", sign=False)
    return mine, theirs


def test_partner_sees_only_own_consents_and_signs_in_the_portal(client, cast, pair):
    mine, theirs = pair
    login(client, cast.partner_a)
    home = client.get("/portal/").content.decode()
    assert "1 document waits for your signature" in home
    listing = client.get("/consents/mine/").content.decode()
    assert f"/consents/mine/{mine.pk}/" in listing
    assert f"/consents/mine/{theirs.pk}/" not in listing and "BLAIR-RECIPIENT-CLINIC" not in listing
    page = client.get(f"/consents/mine/{mine.pk}/").content.decode()
    assert "Telehealth consent" in page and "Sessions by video or phone" in page
    refused = client.post(f"/consents/mine/{mine.pk}/", {"agree": "on", "typed_name": "Someone Else"})
    assert refused.status_code == 400 and "full name" in refused.content.decode()
    done = client.post(f"/consents/mine/{mine.pk}/", {"agree": "on", "typed_name": "Alex Partner"})
    assert done.status_code == 302
    mine.refresh_from_db()
    assert mine.method == "portal" and mine.signed_ip == "127.0.0.1"


def test_guessing_the_other_partners_consent_is_404_and_changes_nothing(client, cast, pair):
    _, theirs = pair
    login(client, cast.partner_a)
    assert client.get(f"/consents/mine/{theirs.pk}/").status_code == 404
    assert (
        client.post(
            f"/consents/mine/{theirs.pk}/", {"agree": "on", "typed_name": "Blair Partner"}
        ).status_code
        == 404
    )
    assert client.post(f"/consents/mine/{theirs.pk}/revoke/", {"reason": "x"}).status_code == 404
    assert client.get("/consents/mine/not-a-number/").status_code == 404
    # Staff pages are not for clients either.
    assert client.get(f"/consents/{theirs.pk}/sign/").status_code == 404
    assert client.get(f"/consents/case/{cast.couple_case.pk}/").status_code == 404
    theirs.refresh_from_db()
    assert theirs.signed_at is None
    assert AuditEvent.objects.filter(action="access.denied", actor_id=cast.partner_a.pk).count() >= 3


def test_partner_withdraws_own_consent(client, cast):
    case = cast.couple_case
    consent = signed(case, case.partner_b, ConsentKind.TELEHEALTH, staff=cast.therapist_a)
    login(client, cast.partner_a)
    assert client.post(f"/consents/mine/{consent.pk}/revoke/", {}).status_code == 404
    login(client, cast.partner_b)
    assert client.post(f"/consents/mine/{consent.pk}/revoke/", {"reason": ""}).status_code == 302
    consent.refresh_from_db()
    assert consent.revoked_at is not None and consent.revoked_by == cast.partner_b


def test_staff_device_signing_and_revocation(client, cast, pair):
    mine, _ = pair
    login(client, cast.therapist_a)
    page = client.get(f"/consents/case/{cast.couple_case.pk}/").content.decode()
    assert "waiting for signature" in page and "BLAIR-RECIPIENT-CLINIC" in page
    assert client.post(f"/consents/{mine.pk}/sign/", {"typed_name": "Alex Partner"}).status_code == 400
    assert (
        client.post(f"/consents/{mine.pk}/sign/", {"agree": "on", "typed_name": "Alex Partner"}).status_code
        == 302
    )
    mine.refresh_from_db()
    assert mine.method == "staff_device" and mine.signed_by_user == cast.therapist_a
    assert client.post(f"/consents/{mine.pk}/revoke/", {"reason": ""}).status_code == 400
    assert (
        client.post(f"/consents/{mine.pk}/revoke/", {"reason": "Client asked at reception."}).status_code
        == 302
    )
    mine.refresh_from_db()
    assert mine.revoked_at is not None


def test_request_and_release_forms(client, cast):
    case = cast.couple_case
    login(client, cast.coordinator)
    url = f"/consents/case/{case.pk}/request/"
    bad = client.post(url, {"client": case.partner_a_id, "kind": "confidentiality"})
    assert bad.status_code == 400 and "secrets" in bad.content.decode()
    ok = client.post(
        url, {"client": case.partner_a_id, "kind": "confidentiality", "confidentiality_mode": "no_secrets"}
    )
    assert ok.status_code == 302
    outsider_client = cast.solo_case.partner_a_id
    assert client.post(url, {"client": outsider_client, "kind": "treatment"}).status_code == 400
    rel = client.post(
        f"/consents/case/{case.pk}/release/",
        {
            "client": case.partner_b_id,
            "recipient": "GP",
            "categories": ["notes", "measures"],
            "valid_until": "2000-01-01",
        },
    )
    assert rel.status_code == 400 and "past" in rel.content.decode()
    assert Consent.objects.filter(case=case).count() == 1


@pytest.mark.parametrize("who", ["therapist_b", "partner_b"])
def test_outsiders_get_404_on_staff_consent_pages(client, cast, pair, who):
    mine, _ = pair
    login(client, getattr(cast, who))
    case = cast.couple_case
    for url in (
        f"/consents/case/{case.pk}/",
        f"/consents/case/{case.pk}/request/",
        f"/consents/{mine.pk}/sign/",
        f"/consents/{mine.pk}/revoke/",
        "/consents/retention/",
    ):
        assert client.get(url).status_code == 404, url


def _queries(client, url: str) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return len(ctx.captured_queries)


def test_case_consents_page_runs_a_constant_number_of_queries(client, cast):
    case = cast.couple_case
    login(client, cast.therapist_a)
    url = f"/consents/case/{case.pk}/"
    signed(case, case.partner_a, ConsentKind.TELEHEALTH, staff=cast.therapist_a)
    few = _queries(client, url)
    for client_ in case.partners:
        for kind in (ConsentKind.TREATMENT, ConsentKind.TELEHEALTH):
            signed(case, client_, kind, staff=cast.cotherapist)
        release(case, client_, staff=cast.therapist_a)
    assert Consent.objects.filter(case=case).count() == 7
    assert _queries(client, url) == few


def test_portal_consents_list_runs_a_constant_number_of_queries(client, cast):
    case = cast.couple_case
    signed(case, case.partner_a, ConsentKind.TELEHEALTH, staff=cast.therapist_a)
    login(client, cast.partner_a)
    few = _queries(client, "/consents/mine/")
    for kind in (ConsentKind.TREATMENT, ConsentKind.TELEHEALTH):
        signed(case, case.partner_a, kind, staff=cast.therapist_a)
    release(case, case.partner_a, staff=cast.therapist_a)
    assert _queries(client, "/consents/mine/") == few


def test_case_page_links_to_consents_and_export_for_clinicians_only(client, cast):
    case = cast.couple_case
    login(client, cast.therapist_a)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f"/consents/case/{case.pk}/" in page and f"/consents/case/{case.pk}/export/" in page
    login(client, cast.coordinator)
    page = client.get(f"/cases/{case.pk}/").content.decode()
    assert f"/consents/case/{case.pk}/" in page and "/export/" not in page
