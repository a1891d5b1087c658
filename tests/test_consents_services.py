"""Consent services: only the partner themself signs, revocation counts from then on, pathway integration."""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from tandem.access.services import AccessDenied
from tandem.audit.models import AuditEvent
from tandem.consents.models import ConfidentialityMode, ConsentKind, SignMethod
from tandem.consents.selectors import has_valid_consent, valid_release
from tandem.consents.services import consent_request, consent_revoke, consent_sign
from tandem.lib.errors import Refusal
from tandem.lib.time import local_today
from tandem.pathway.models import TreatmentConsent
from tandem.pathway.rules import consent_given
from tandem.records.models import ConfidentialityPolicy, SecretsPolicy
from tandem.records.services import confidentiality_set
from tests.cast import login
from tests.consents_support import RECIPIENT, release, signed


def test_partner_signs_own_consent_in_portal(cast):
    case = cast.couple_case
    consent = consent_request(
        actor=cast.coordinator, case=case, client=case.partner_a, kind=ConsentKind.TELEHEALTH
    )
    assert not has_valid_consent(client=case.partner_a, case=case, kind=ConsentKind.TELEHEALTH)
    consent = consent_sign(
        actor=cast.partner_a, consent=consent, typed_name="  alex   PARTNER ", ip="192.0.2.1"
    )
    assert consent.method == SignMethod.PORTAL and consent.signed_by_user == cast.partner_a
    assert consent.typed_name == "alex PARTNER" and consent.signed_ip == "192.0.2.1"
    assert has_valid_consent(client=case.partner_a, case=case, kind=ConsentKind.TELEHEALTH)
    assert not has_valid_consent(client=case.partner_b, case=case, kind=ConsentKind.TELEHEALTH)
    actions = list(
        AuditEvent.objects.filter(case_id=case.pk).order_by("seq").values_list("action", flat=True)
    )
    assert actions == ["consent.request", "consent.sign"]


def test_other_partner_cannot_sign_and_wrong_name_is_refused(cast):
    case = cast.couple_case
    consent = consent_request(
        actor=cast.therapist_a, case=case, client=case.partner_a, kind=ConsentKind.TELEHEALTH
    )
    with pytest.raises(AccessDenied):
        consent_sign(actor=cast.partner_b, consent=consent, typed_name="Alex Partner")
    with pytest.raises(Refusal, match="full name"):
        consent_sign(actor=cast.partner_a, consent=consent, typed_name="Blair Partner")
    consent.refresh_from_db()
    assert consent.signed_at is None


def test_unassigned_therapist_cannot_request_or_witness(cast):
    case = cast.couple_case
    with pytest.raises(AccessDenied):
        consent_request(actor=cast.therapist_b, case=case, client=case.partner_a, kind=ConsentKind.TREATMENT)
    consent = consent_request(
        actor=cast.therapist_a, case=case, client=case.partner_a, kind=ConsentKind.TREATMENT
    )
    with pytest.raises(AccessDenied):
        consent_sign(actor=cast.therapist_b, consent=consent, typed_name="Alex Partner")


def test_treatment_consent_feeds_the_pathway_rule_and_revocation_withdraws_it(cast):
    case = cast.solo_case
    client = case.partner_a
    assert consent_given(case)
    consent = signed(case, client, ConsentKind.TREATMENT, staff=cast.therapist_a)
    assert consent.method == SignMethod.STAFF_DEVICE and consent.signed_by_user == cast.therapist_a
    assert consent_given(case) == []
    assert TreatmentConsent.objects.get(case=case).version == "treatment-v1"
    with pytest.raises(Refusal, match="why"):
        consent_revoke(actor=cast.therapist_a, consent=consent, reason="")
    consent_revoke(actor=cast.therapist_a, consent=consent, reason="Client phoned to withdraw.")
    assert consent_given(case)
    assert not has_valid_consent(client=client, case=case, kind=ConsentKind.TREATMENT)
    with pytest.raises(Refusal):
        consent_revoke(actor=cast.therapist_a, consent=consent, reason="Again, by mistake.")


def test_revoked_consent_still_counts_for_the_days_before(cast):
    case = cast.couple_case
    with time_machine.travel(dt.datetime(2026, 10, 1, 10, tzinfo=dt.UTC)):
        consent = signed(case, case.partner_a, ConsentKind.TELEHEALTH, staff=cast.therapist_a)
    with time_machine.travel(dt.datetime(2026, 10, 20, 10, tzinfo=dt.UTC)):
        consent_revoke(actor=cast.partner_a, consent=consent)
    assert has_valid_consent(client=case.partner_a, case=case, kind="telehealth", on=dt.date(2026, 10, 19))
    assert not has_valid_consent(
        client=case.partner_a, case=case, kind="telehealth", on=dt.date(2026, 10, 20)
    )


def test_release_expires_and_matches_its_recipient(cast):
    case = cast.couple_case
    consent = release(case, case.partner_a, staff=cast.therapist_a, days=10)
    assert valid_release(client=case.partner_a, case=case, recipient=" dr. rowan example,  GENERAL practice")
    assert valid_release(client=case.partner_a, case=case, recipient="Someone else") is None
    later = local_today() + dt.timedelta(days=11)
    assert valid_release(client=case.partner_a, case=case, recipient=RECIPIENT, on=later) is None
    assert consent.categories == sorted(consent.categories)


def test_confidentiality_reads_the_case_policy_and_records_agreement(cast):
    case = cast.couple_case
    policy = ConfidentialityPolicy.objects.create(
        case=case, kind=SecretsPolicy.LIMITED_SECRETS, set_by=cast.therapist_a, set_at=dt.datetime.now(dt.UTC)
    )
    # The case's policy wins over whatever the request says.
    consent = signed(
        case, case.partner_b, ConsentKind.CONFIDENTIALITY, staff=cast.therapist_a, mode="no_secrets"
    )
    assert consent.confidentiality_mode == ConfidentialityMode.LIMITED_SECRETS
    policy.refresh_from_db()
    assert policy.partner_b_agreed_at is not None and policy.partner_a_agreed_at is None
    assert has_valid_consent(client=case.partner_b, case=case, kind=ConsentKind.CONFIDENTIALITY)
    policy.kind = SecretsPolicy.NO_SECRETS
    policy.save()
    assert not has_valid_consent(client=case.partner_b, case=case, kind=ConsentKind.CONFIDENTIALITY)
    policy.kind = SecretsPolicy.LIMITED_SECRETS
    policy.save()
    consent_revoke(actor=cast.partner_b, consent=consent)
    policy.refresh_from_db()
    assert policy.partner_b_agreed_at is None


def test_confidentiality_without_a_case_policy_needs_a_mode(cast):
    case = cast.couple_case
    with pytest.raises(Refusal, match="secrets"):
        consent_request(
            actor=cast.therapist_a, case=case, client=case.partner_a, kind=ConsentKind.CONFIDENTIALITY
        )
    consent = signed(
        case, case.partner_a, ConsentKind.CONFIDENTIALITY, staff=cast.therapist_a, mode="no_secrets"
    )
    assert consent.confidentiality_mode == "no_secrets"


def test_both_partners_signing_no_secrets_sets_the_case_policy_and_withdrawing_unsets_it(cast, client):
    """One writer: the records app writes the policy when the consents app reports a signature."""
    case = cast.couple_case
    assert not ConfidentialityPolicy.objects.filter(case=case).exists()
    first = signed(
        case, case.partner_a, ConsentKind.CONFIDENTIALITY, staff=cast.therapist_a, mode="no_secrets"
    )
    # The portal partner signs their own; the mode now comes from the case's policy.
    request = consent_request(
        actor=cast.therapist_a, case=case, client=case.partner_b, kind=ConsentKind.CONFIDENTIALITY
    )
    second = consent_sign(actor=cast.partner_b, consent=request, typed_name="Blair Partner")
    policy = ConfidentialityPolicy.objects.get(case=case)
    assert policy.kind == SecretsPolicy.NO_SECRETS and policy.from_consent
    assert policy.set_by == cast.therapist_a and policy.agreed_by_all
    actions = list(
        AuditEvent.objects.filter(case_id=case.pk).order_by("seq").values_list("action", flat=True)
    )
    assert actions.count("confidentiality.set") == 1 and actions.count("confidentiality.agreed") == 2

    page = login(client, cast.therapist_a).get(reverse("records:case_notes", args=[case.pk]))
    text = page.content.decode()
    assert "No policy recorded yet" not in text and "No secrets" in text and "signed consent" in text

    consent_revoke(actor=cast.partner_b, consent=second)
    policy.refresh_from_db()
    assert policy.partner_b_agreed_at is None and policy.partner_a_agreed_at is not None
    consent_revoke(actor=cast.therapist_a, consent=first, reason="Alex withdrew in session.")
    assert not ConfidentialityPolicy.objects.filter(case=case).exists()
    assert AuditEvent.objects.filter(case_id=case.pk, action="confidentiality.unset").count() == 1
    assert (
        "No policy recorded yet" in client.get(reverse("records:case_notes", args=[case.pk])).content.decode()
    )


def test_withdrawing_keeps_a_policy_the_therapist_chose(cast):
    case = cast.couple_case
    confidentiality_set(actor=cast.therapist_a, case=case, kind=SecretsPolicy.LIMITED_SECRETS)
    consent = signed(case, case.partner_a, ConsentKind.CONFIDENTIALITY, staff=cast.therapist_a)
    consent_revoke(actor=cast.partner_a, consent=consent)
    policy = ConfidentialityPolicy.objects.get(case=case)
    assert policy.kind == SecretsPolicy.LIMITED_SECRETS and not policy.from_consent
    assert policy.partner_a_agreed_at is None
