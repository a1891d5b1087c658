"""The large demo (`seed_demo --cases N`): years of history, in proportion, without double bookings.

Apart from tests/test_demo_seed.py, whose tests share one small demo for the module: this one needs an
empty database.
"""

import re

import pytest

from tandem.accounts.models import CoTherapyTeam, TherapistProfile, User
from tandem.audit.models import AuditEvent
from tandem.audit.services import verify_audit_chain
from tandem.cases.models import Case, CaseProblem, Phase, PhaseChange
from tandem.demo import build as demo
from tandem.homework.models import AssignmentLog
from tandem.lib.time import local_day_bounds, local_today
from tandem.measures.models import Response
from tandem.pathway.models import (
    FollowUpStatus,
    FollowUpTask,
    IntakeRecord,
    Referral,
    TreatmentPlan,
    safety_flagged_q,
)
from tandem.planning.models import WaitingCase
from tandem.planning.waiting import intensive_waiting_list
from tandem.records.models import SessionNote
from tandem.scheduling.models import Appointment
from tests.test_demo_seed import room_clashes, seed, therapist_clashes

pytestmark = pytest.mark.django_db


def test_large_mode_builds_years_of_history():
    output = seed("--cases", "200")
    assert "username therapist" in output
    cases = Case.objects.all()
    assert cases.count() == 200
    assert PhaseChange.objects.count() > 2 * 200
    assert Appointment.objects.count() > 5 * 200
    assert CaseProblem.objects.count() >= 150
    first = cases.order_by("opened_on").values_list("opened_on", flat=True).first()
    assert first is not None and (local_today() - first).days > 4 * 365
    assert set(cases.values_list("phase", flat=True)) >= {Phase.DISCHARGED, Phase.CLOSED, Phase.TREATMENT}
    # Staff in proportion to the caseload (one therapist per 500 cases), never fewer than four.
    assert TherapistProfile.objects.count() == 4
    assert CoTherapyTeam.objects.count() == 1
    therapist = User.objects.get(username="therapist")
    assert Case.objects.assigned_to(therapist).exists()
    start, end = local_day_bounds(local_today())
    assert Appointment.objects.filter(therapists=therapist).between(start, end).exists()
    assert therapist_clashes() == 0
    assert room_clashes() == 0
    # The clinical record at scale, and the audit events it would have produced, in one valid chain.
    assert SessionNote.objects.filter(signed_at__isnull=False).count() > 3 * 200
    assert SessionNote.objects.filter(cosigned_at__isnull=False).exists()
    assert Response.objects.values("case").distinct().count() > 100
    assert AssignmentLog.objects.exists()
    assert AuditEvent.objects.filter(action="note.sign").count() == SessionNote.objects.count()
    # The pathway's records, with the loose ends a busy practice's Today lists show, but not everywhere.
    in_treatment = cases.filter(phase=Phase.TREATMENT)
    without_plan = in_treatment.filter(treatment_plans__isnull=True).count()
    assert 0 < without_plan < in_treatment.count() / 2
    assert IntakeRecord.objects.values("case").distinct().count() > 150
    assert IntakeRecord.objects.filter(safety_flagged_q()).exists()
    assert Referral.objects.awaiting_result().exists()
    assert FollowUpTask.objects.filter(status=FollowUpStatus.OPEN, due_on__lt=local_today()).exists()
    assert AuditEvent.objects.filter(action="plan.version").count() == TreatmentPlan.objects.count()
    # The planner's kept waiting list is the list's definition (the bulk-written history bypassed the
    # services that keep it, so the seed rebuilds it).
    kept = set(WaitingCase.objects.values_list("case_id", flat=True))
    assert kept == set(intensive_waiting_list().values_list("pk", flat=True))
    assert verify_audit_chain().ok
    assert re.search(r"\.\.\. +[0-9.]+ s  signing [0-9,]+ audit events", output)
    # Asking again for another size changes nothing.
    before = demo.counts()
    seed("--cases", "300")
    assert demo.counts() == before
