"""Retention (nothing deleted, only listed) and a client's full data export on request."""

import datetime as dt
import json

from django.core.management import call_command

from tandem.audit.models import AuditEvent
from tandem.cases.models import Phase
from tandem.consents.models import ConsentKind
from tandem.consents.retention import RETENTION_YEARS, retention_due, years_after
from tandem.homework.models import AssignmentLog
from tests.cast import login
from tests.consents_support import signed
from tests.homework_support import couple_sensate, log
from tests.pathway_support import session
from tests.records_support import partner_b_private_note, signed_dap


def test_years_after_handles_leap_day():
    assert years_after(dt.date(2024, 2, 29), RETENTION_YEARS) == dt.date(2039, 2, 28)


def test_retention_lists_archived_cases_past_the_period_and_deletes_nothing(cast, client):
    old, recent = cast.solo_case, cast.couple_case
    old.phase, old.closed_on = Phase.DISCHARGED, dt.date(2008, 3, 1)
    old.save()
    recent.phase, recent.closed_on = Phase.CLOSED, dt.date(2020, 3, 1)
    recent.save()
    today = dt.date(2026, 11, 22)
    assert [r.case.pk for r in retention_due(on=today)] == [old.pk]
    assert retention_due(on=today)[0].keep_until == dt.date(2023, 3, 1)
    # A later session counts as the last contact and restarts the period.
    session(old, "standard", days_ago=(dt.date.today() - dt.date(2012, 5, 1)).days)
    assert retention_due(on=today) == []
    login(client, cast.director)
    assert client.get("/consents/retention/").status_code == 200
    login(client, cast.therapist_a)
    assert client.get("/consents/retention/").status_code == 404
    call_command("retention_due")
    assert old.__class__.objects.filter(pk=old.pk).exists()


def test_client_data_export_has_own_data_only(cast, tmp_path):
    case = cast.couple_case
    signed_dap(cast, text="JOINT-NOTE-FOR-BOTH")
    partner_b_private_note(cast)
    couple = couple_sensate(cast)
    log(cast, "partner_a", couple, shared=False, note="A-OWN-ENTRY")
    log(cast, "partner_b", couple, shared=True, note="B-SHARED-ENTRY")
    signed(case, case.partner_a, ConsentKind.TELEHEALTH, staff=cast.therapist_a)
    out = tmp_path / "alex.json"
    call_command("export_client_data", "--client", str(case.partner_a_id), "--out", str(out))
    text = out.read_text()
    data = json.loads(text)
    assert data["client"]["first_name"] == "Alex"
    assert data["cases"][0]["reference"] == "T-0001"
    assert "A-OWN-ENTRY" in text and "JOINT-NOTE-FOR-BOTH" in text
    assert len(data["consents"]) == 1
    for other in ("B-SHARED-ENTRY", "B-PRIVATE-SECRET", "B-SHARED-PLAN", "password"):
        assert other not in text, other
    assert AssignmentLog.objects.count() == 2
    event = AuditEvent.objects.get(action="client.data_export")
    assert event.actor_id is None and "Alex" not in json.dumps(event.detail)


def test_client_data_download_for_clinicians(client, cast):
    case = cast.couple_case
    login(client, cast.therapist_a)
    response = client.get(f"/consents/case/{case.pk}/client/{case.partner_b_id}/data.json")
    assert response.status_code == 200 and json.loads(response.content)["client"]["first_name"] == "Blair"
    assert (
        client.get(f"/consents/case/{case.pk}/client/{cast.solo_case.partner_a_id}/data.json").status_code
        == 404
    )
