"""A case's insurance page and superbill: who gets in, what is written, what the PDF says, query counts."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tandem.access.services import AccessDenied
from tandem.billing import services as billing
from tandem.billing.models import BillingArrangement, Charge, Payer
from tandem.claims import services
from tandem.claims.models import Coverage, Diagnosis
from tandem.demo.claims import demo_npi
from tandem.lib.time import local_today
from tests.billing_support import attend, book, set_fees
from tests.cast import login
from tests.pdf_support import pdf_text

pytestmark = pytest.mark.django_db

COVERAGE = {
    "insurer_name": "Example Mutual (test)",
    "payer_id": "EXM01",
    "member_id": "M-123456",
    "sex": "F",
    "address_line": "12 Example Road",
    "city": "Portland",
    "state": "OR",
    "postal_code": "97201",
}


def insured(cast, sessions: int = 1) -> list:
    set_fees(cast.director)
    case = cast.couple_case
    services.coverage_set(actor=cast.coordinator, case=case, identified_patient=case.partner_a, **COVERAGE)
    services.provider_number_set(actor=cast.director, therapist=cast.therapist_a, npi=demo_npi(7))
    services.diagnoses_set(actor=cast.therapist_a, case=case, codes=["F52.0", "Z63.0"])
    done = []
    for n in range(sessions):
        appointment = attend(cast, book(cast, days=3 + n))
        billing.charges_reconcile(actor=cast.director, appointment_id=appointment.pk)
        done.append(appointment)
    return done


def superbill_url(cast, payer: Payer) -> str:
    today = local_today()
    start, end = today, today + dt.timedelta(days=30)
    base = reverse("claims:superbill", kwargs={"case_id": cast.couple_case.pk})
    return f"{base}?payer={payer.pk}&date_from={start}&date_to={end}"


def test_superbill_pdf_holds_cpt_icd_and_npi(client, cast):
    insured(cast)
    insurer = Payer.objects.get(kind="insurer")
    assert Charge.objects.filter(payer=insurer, kind="session").count() == 1
    login(client, cast.coordinator)
    response = client.get(superbill_url(cast, insurer))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = pdf_text(response.content)
    for expected in ("90847", "F52.0", "Z63.0", demo_npi(7), "M-123456", "Alex Partner", "Superbill"):
        assert expected in text, expected
    assert "Synthetic presenting notes" not in text


@pytest.mark.parametrize("who", ["therapist_b", "partner_a", "partner_b"])
def test_outsider_and_partners_get_404(client, cast, who):
    insured(cast)
    insurer = Payer.objects.get(kind="insurer")
    login(client, getattr(cast, who))
    page = reverse("claims:case_insurance", kwargs={"case_id": cast.couple_case.pk})
    assert client.get(page).status_code == 404
    assert client.get(superbill_url(cast, insurer)).status_code == 404
    post = reverse("claims:coverage_save", kwargs={"case_id": cast.couple_case.pk})
    assert client.post(post, {**COVERAGE, "member_id": "CHANGED1"}).status_code == 404
    assert Coverage.objects.get().member_id == "M-123456"


def test_superbill_of_a_payer_of_another_case_is_refused(client, cast):
    insured(cast)
    stranger = Payer.objects.create(kind="insurer", insurer_name="Not this case's")
    login(client, cast.director)
    assert client.get(superbill_url(cast, stranger)).status_code == 400


def test_assigned_therapist_sees_the_page_and_sets_diagnoses_but_not_coverage(client, cast):
    insured(cast)
    login(client, cast.therapist_a)
    page = reverse("claims:case_insurance", kwargs={"case_id": cast.couple_case.pk})
    html = client.get(page).content.decode()
    assert "90847" in html and "F52.0" in html
    client.post(reverse("claims:diagnoses_save", kwargs={"case_id": cast.couple_case.pk}), {"dx1": "F52.6"})
    assert list(Diagnosis.objects.filter(ended_at__isnull=True).values_list("code", flat=True)) == ["F52.6"]
    assert Diagnosis.objects.filter(ended_at__isnull=False).count() == 2  # ended, not deleted
    with pytest.raises(AccessDenied):
        services.coverage_set(
            actor=cast.therapist_a, case=cast.couple_case, identified_patient=None, **COVERAGE
        )


def test_bad_coverage_is_explained_and_nothing_changes(client, cast):
    login(client, cast.coordinator)
    post = reverse("claims:coverage_save", kwargs={"case_id": cast.couple_case.pk})
    response = client.post(
        post, {**COVERAGE, "identified_patient": cast.couple_case.partner_a_id, "state": "Oregon"}
    )
    assert response.status_code == 400
    response = client.post(
        post, {**COVERAGE, "identified_patient": cast.couple_case.partner_a_id, "state": "O1"}
    )
    assert response.status_code == 400 and "two-letter" in response.content.decode()
    assert not Coverage.objects.exists() and not BillingArrangement.objects.exists()
    response = client.post(post, {**COVERAGE, "identified_patient": cast.couple_case.partner_a_id})
    assert response.status_code == 302
    assert BillingArrangement.objects.get().payer_kind == "insurer"


def test_flags_add_interactive_complexity_only_where_it_goes(client, cast):
    (appointment,) = insured(cast)
    login(client, cast.therapist_a)
    url = reverse(
        "claims:flags_save", kwargs={"case_id": cast.couple_case.pk, "appointment_id": appointment.pk}
    )
    client.post(url, {"interactive_complexity": "on", "patient_at_home": "on"})
    appointment.refresh_from_db()
    assert appointment.claim_flags.interactive_complexity
    page = client.get(
        reverse("claims:case_insurance", kwargs={"case_id": cast.couple_case.pk})
    ).content.decode()
    assert "+90785" not in page  # a couple session (90847) takes no interactive-complexity add-on


def test_bad_codes_and_npis_are_refused(cast):
    with pytest.raises(services.ClaimsInvalid, match="code list"):
        services.diagnoses_set(actor=cast.director, case=cast.couple_case, codes=["F99.9"])
    with pytest.raises(services.ClaimsInvalid, match="once"):
        services.diagnoses_set(actor=cast.director, case=cast.couple_case, codes=["F52.0", "F52.0"])
    with pytest.raises(services.ClaimsInvalid, match="NPI"):
        services.provider_number_set(actor=cast.director, therapist=cast.therapist_a, npi="1234567890")
    with pytest.raises(AccessDenied):
        services.provider_number_set(actor=cast.coordinator, therapist=cast.therapist_a, npi=demo_npi(3))
    assert not Diagnosis.objects.exists()


def _page_queries(client, cast) -> int:
    with CaptureQueriesContext(connection) as captured:
        page = reverse("claims:case_insurance", kwargs={"case_id": cast.couple_case.pk})
        assert client.get(page).status_code == 200
    return len(captured)


def test_page_queries_do_not_grow_with_sessions(client, cast):
    insured(cast, sessions=1)
    login(client, cast.coordinator)
    # The page lists attended sessions of the last six months: move the booked ones into the past.
    small = _page_queries(client, cast)
    for n in range(4):
        appointment = attend(cast, book(cast, days=10 + n, hour=9))
        billing.charges_reconcile(actor=cast.director, appointment_id=appointment.pk)
    assert _page_queries(client, cast) == small


def test_coverage_for_the_second_partner_saves(client, cast):
    """The identified patient may be either partner (a regression: the choice was read once per partner)."""
    login(client, cast.coordinator)
    post = reverse("claims:coverage_save", kwargs={"case_id": cast.couple_case.pk})
    response = client.post(post, {**COVERAGE, "identified_patient": cast.couple_case.partner_b_id})
    assert response.status_code == 302
    assert BillingArrangement.objects.get().identified_patient_id == cast.couple_case.partner_b_id


def test_director_records_an_npi_and_a_bad_one_is_explained(client, cast):
    url = reverse("claims:provider_number_save", kwargs={"case_id": cast.couple_case.pk})
    login(client, cast.director)
    response = client.post(url, {"therapist": cast.therapist_a.pk, "npi": "1234567890"})
    assert response.status_code == 400 and "not a valid NPI" in response.content.decode()
    assert client.post(url, {"therapist": cast.therapist_a.pk, "npi": demo_npi(9)}).status_code == 302
    assert cast.therapist_a.provider_number.npi == demo_npi(9)
    login(client, cast.coordinator)
    client.post(url, {"therapist": cast.therapist_a.pk, "npi": demo_npi(11)})
    cast.therapist_a.provider_number.refresh_from_db()
    assert cast.therapist_a.provider_number.npi == demo_npi(9)
