"""The referral letter as a PDF: a real PDF, for those who may read the referral, with only what it needs."""

import pytest
from django.urls import reverse

from tandem.audit.models import AuditEvent
from tandem.pathway.models import Referral, SpecialistType
from tandem.pathway.services import IntakeDetails, findings_save, intake_save, referral_create
from tests.cast import Cast, login
from tests.pdf_support import pdf_text


@pytest.fixture
def referral(cast: Cast) -> Referral:
    case = cast.couple_case
    client_a = case.partner_a
    client_a.date_of_birth = "1988-03-14"
    client_a.save()
    # Other clinical detail in the case that must stay out of the letter.
    intake_save(
        actor=cast.therapist_a,
        case=case,
        client=case.partner_b,
        details=IntakeDetails(presenting_concerns="OTHER-PARTNER-CONCERN"),
    )
    findings_save(
        actor=cast.therapist_a,
        case=case,
        client=client_a,
        psychological="FINDING-SECRET",
        physical="PHYS-SECRET",
    )
    referral_create(
        actor=cast.therapist_a,
        case=case,
        client=case.partner_b,
        specialist_type=SpecialistType.objects.get(slug="gynaecologist"),
        reason="OTHER-REFERRAL-REASON",
    )
    return referral_create(
        actor=cast.therapist_a,
        case=case,
        client=client_a,
        specialist_type=SpecialistType.objects.get(slug="urologist"),
        reason="Erectile difficulty for a year; please rule out a vascular cause.",
        urgency="soon",
    )


def _url(referral: Referral) -> str:
    return reverse(
        "pathway:referral_letter_pdf", kwargs={"case_id": referral.case_id, "referral_id": referral.pk}
    )


def test_pdf_has_the_referral_and_nothing_else(client, cast, referral):
    login(client, cast.therapist_a)
    response = client.get(_url(referral))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="referral-letter.pdf"'
    data = response.content
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    text = pdf_text(data)
    for expected in (
        "Referral: Alex Partner",
        "14 March 1988",
        "Urologist",
        "Soon",
        "vascular cause",
        "Tess Assigned",
    ):
        assert expected in text, expected
    for secret in (
        "Blair",
        "OTHER-PARTNER-CONCERN",
        "FINDING-SECRET",
        "PHYS-SECRET",
        "OTHER-REFERRAL-REASON",
        "T-0001",
    ):
        assert secret not in text and secret.encode() not in data, secret
    assert AuditEvent.objects.filter(action="referral.letter", detail__format="pdf").count() == 1


def test_printable_page_links_to_the_pdf(client, cast, referral):
    login(client, cast.therapist_a)
    page = client.get(
        reverse("pathway:referral_letter", kwargs={"case_id": referral.case_id, "referral_id": referral.pk})
    ).content.decode()
    assert f'href="{_url(referral)}"' in page


@pytest.mark.parametrize(
    ("role", "status"),
    [("cotherapist", 200), ("director", 200), ("therapist_b", 404), ("coordinator", 404), ("partner_a", 404)],
)
def test_only_clinical_readers_get_the_pdf(client, cast, referral, role, status):
    login(client, getattr(cast, role))
    assert client.get(_url(referral)).status_code == status


def test_another_cases_referral_id_is_not_found(client, cast, referral):
    login(client, cast.therapist_a)
    wrong = reverse(
        "pathway:referral_letter_pdf", kwargs={"case_id": cast.solo_case.pk, "referral_id": referral.pk}
    )
    assert client.get(wrong).status_code == 404
