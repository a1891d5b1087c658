"""What the seed plans before it writes: people, cases and their simulated phase history."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from typing import TypeVar

from django.db import models

from tandem.cases.models import Phase
from tandem.demo.data import BATCH, INTENSIVE, PATH


# --- Plans ----------------------------------------------------------------------------------------
@dataclass
class PersonPlan:
    first: str
    last: str
    sex: str  # F, M or N: only to pick names, pronouns and which problems fit


@dataclass
class CasePlan:
    partner_a: PersonPlan
    partner_b: PersonPlan | None
    absent: str
    therapist: int | None  # index into the therapists
    team: int | None  # index into the teams
    fmt: str
    opened: dt.date
    durations: dict[str, int]
    close_after: str | None
    slot: int
    steps: list[tuple[str, dt.date]] = field(default_factory=list)

    @property
    def phase(self) -> str:
        return self.steps[-1][0]


@dataclass
class Booking:
    case: int
    kind: str
    mode: str
    starts: dt.datetime
    ends: dt.datetime
    room_id: int | None
    status: str
    clinicians: tuple[int, ...]


@dataclass
class SeedReport:
    created: bool
    cases: int
    appointments: int
    added_today: int
    seconds: float


def durations_for(rng: random.Random, fmt: str) -> dict[str, int]:
    """Days spent in each phase (the treatment and follow-up lengths follow the format)."""
    return {
        Phase.CONSULTATION: rng.randint(5, 14),
        Phase.INTAKE: rng.randint(7, 21),
        Phase.ASSESSMENT: rng.randint(18, 35),
        Phase.TREATMENT: rng.randint(22, 30) if fmt == INTENSIVE else 7 * rng.randint(4, 14),
        Phase.FOLLOW_UP: rng.randint(190, 200) if fmt == INTENSIVE else rng.randint(100, 130),
    }


def path_of(close_after: str | None) -> tuple[str, ...]:
    if close_after is None:
        return PATH
    return (*PATH[: PATH.index(close_after) + 1], Phase.CLOSED)


def walk(plan: CasePlan, today: dt.date) -> None:
    """The phases this case has entered by today, each with the day it entered it."""
    day = plan.opened
    plan.steps = []
    for phase in path_of(plan.close_after):
        if day > today:
            break
        plan.steps.append((phase, day))
        if phase in (Phase.DISCHARGED, Phase.CLOSED):
            break
        day += dt.timedelta(days=plan.durations[phase])


def opened_for(plan: CasePlan, target: str, today: dt.date, rng: random.Random) -> dt.date:
    """The opening day that puts a case in `target` today (used for the hand-picked demo cases)."""
    path = path_of(plan.close_after)
    before = path[: path.index(target)]
    if target in (Phase.DISCHARGED, Phase.CLOSED):
        entered = today - dt.timedelta(days=rng.randint(10, 300))
    else:
        entered = today - dt.timedelta(days=rng.randint(0, plan.durations[target] - 1))
    return entered - dt.timedelta(days=sum(plan.durations[p] for p in before))


T = TypeVar("T", bound=models.Model)


def bulk(model: type[T], rows: list[T]) -> list[T]:
    return model._default_manager.bulk_create(rows, batch_size=BATCH)
