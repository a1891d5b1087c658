"""Finished cases with scores, built with plain model calls (the outcome code only reads them)."""

import datetime as dt
from decimal import Decimal

from django.utils import timezone

from tandem.cases.models import Case, CaseProblem, Client, Phase, PhaseChange, PresentingProblem
from tandem.measures.models import Instrument, Response
from tandem.pathway.models import TreatmentPlan

ENDED = timezone.make_aware(dt.datetime(2026, 6, 15, 12, 0))


def finished_couple(
    n: int,
    director,
    *,
    fmt: str = "intensive",
    problem: str = "low-desire",
    scores: dict[str, tuple[int, int]] | None = None,
    phase: str = Phase.FOLLOW_UP,
) -> Case:
    """Couple number N; `scores` maps an instrument code to (baseline, end) for both partners."""
    a = Client.objects.create(
        first_name=f"Avery{n}",
        last_name="Outcomeson",
        email=f"avery{n}@example.invalid",
        phone=f"+31 6 5550 {n:04d}",
        date_of_birth=dt.date(1980, 3, 7),
    )
    b = Client.objects.create(
        first_name=f"Bailey{n}",
        last_name="Outcomeson",
        email=f"bailey{n}@example.invalid",
        phone=f"+31 6 5551 {n:04d}",
        date_of_birth=dt.date(1992, 11, 23),
    )
    case = Case.objects.create(
        reference=f"OUT-{n:04d}", partner_a=a, partner_b=b, phase=phase, opened_on=dt.date(2026, 1, 5)
    )
    started = ENDED - dt.timedelta(days=60)
    for to_phase, at in (
        (Phase.INTAKE, ENDED - dt.timedelta(days=120)),
        (Phase.TREATMENT, started),
        (Phase.FOLLOW_UP, ENDED),
    ):
        PhaseChange.objects.create(case=case, to_phase=to_phase, at=at, by=director)
    TreatmentPlan.objects.create(
        case=case,
        version=1,
        format=fmt,
        sessions_per_week=1 if fmt == "standard" else None,
        goals="Synthetic goals.",
        created_at=started,
        created_by=director,
    )
    CaseProblem.objects.create(case=case, problem=PresentingProblem.objects.get(slug=problem))
    for code, (baseline, end) in (scores or {}).items():
        instrument = Instrument.objects.get(code=code)
        for client in (a, b):
            for at, total in (
                (started - dt.timedelta(days=30), baseline),
                (ENDED - dt.timedelta(days=1), end),
            ):
                Response.objects.create(
                    instrument=instrument,
                    instrument_version=instrument.version,
                    client=client,
                    case=case,
                    answered_at=at,
                    answers={},
                    total=Decimal(total),
                )
    return case


def dropout(n: int, director) -> Case:
    a = Client.objects.create(first_name=f"Drew{n}", last_name="Leftearly")
    case = Case.objects.create(
        reference=f"DROP-{n:04d}",
        partner_a=a,
        absent_partner="unwilling",
        phase=Phase.CLOSED,
        opened_on=dt.date(2026, 1, 5),
        closed_on=dt.date(2026, 3, 1),
    )
    PhaseChange.objects.create(
        case=case, to_phase=Phase.INTAKE, at=ENDED - dt.timedelta(days=150), by=director
    )
    PhaseChange.objects.create(
        case=case, to_phase=Phase.CLOSED, at=ENDED - dt.timedelta(days=100), by=director
    )
    return case
