"""What the planning pages show: the runs list and one run's proposal, in a fixed number of queries."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet

from tandem.accounts.models import User
from tandem.cases.models import Case
from tandem.lib.time import practice_zone
from tandem.planning.adapter import pk_of, read_block
from tandem.planning.models import PlanningRun
from tandem.practice.models import Room

RUNS_SHOWN = 20


def recent_runs() -> QuerySet[PlanningRun]:
    # The instance and plan can be large: the list needs only the figures.
    return (
        PlanningRun.objects.defer("instance", "plan", "outcome")
        .select_related("requested_by", "accepted_by")
        .order_by("-requested_at", "-pk")[:RUNS_SHOWN]
    )


@dataclass
class ProposedBlock:
    couple: str
    case: Case | None
    weight: int
    first_day: dt.date
    last_day: dt.date
    start: str
    end: str
    therapists: list[User]
    room: Room | None
    wait_days: int
    outcome: dict[str, Any] = field(default_factory=dict)


@dataclass
class LeftOut:
    couple: str
    case: Case | None
    weight: int
    reason: str


@dataclass
class Proposal:
    blocks: list[ProposedBlock]
    unscheduled: list[LeftOut]
    waiting: int


def proposal(run: PlanningRun) -> Proposal | None:
    """The run's plan with cases, therapists and rooms loaded (three queries), or None before it is done."""
    if run.plan is None:
        return None
    zone = practice_zone()
    couples = {c["id"]: c for c in run.instance.get("couples", [])}
    earliest = {
        cid: dt.date.fromisoformat(c.get("earliest_start", run.first_day.isoformat()))
        for cid, c in couples.items()
    }
    blocks = run.plan.get("blocks", [])
    user_pks = {pk_of(t) for b in blocks for t in b["therapists"]}
    room_pks = {pk_of(b["room"]) for b in blocks}
    cases = Case.objects.with_people().in_bulk([pk_of(cid) for cid in couples])
    users = User.objects.in_bulk(user_pks)
    rooms = Room.objects.select_related("location").in_bulk(room_pks)
    outcome = run.outcome or {}
    shown = []
    for b in blocks:
        spec = read_block(b)
        last = dt.datetime.fromisoformat(b["sessions"][-1]["start"]).astimezone(zone).date()
        end = dt.datetime.fromisoformat(b["sessions"][0]["end"]).astimezone(zone)
        shown.append(
            ProposedBlock(
                couple=b["couple"],
                case=cases.get(spec.case_pk),
                weight=int(couples.get(b["couple"], {}).get("weight", 1)),
                first_day=spec.first_day,
                last_day=last,
                start=spec.start_time.strftime("%H:%M"),
                end=end.strftime("%H:%M"),
                therapists=[users[pk] for pk in spec.therapist_pks if pk in users],
                room=rooms.get(spec.room_pk),
                wait_days=(spec.first_day - earliest.get(b["couple"], run.first_day)).days,
                outcome=outcome.get(b["couple"], {}),
            )
        )
    shown.sort(key=lambda p: (p.first_day, p.start, p.couple))
    left = [
        LeftOut(
            couple=u["couple"],
            case=cases.get(pk_of(u["couple"])),
            weight=int(couples.get(u["couple"], {}).get("weight", 1)),
            reason=u["reason"],
        )
        for u in run.plan.get("unscheduled", [])
    ]
    left.sort(key=lambda x: (-x.weight, x.couple))
    return Proposal(blocks=shown, unscheduled=left, waiting=len(couples))
