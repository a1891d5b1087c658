"""The large practice's clinical record, in bulk: signed notes, questionnaires, homework logs.

The benchmark practice has years of sessions; one service call per note would take hours. Rows are
built in memory from the sessions just written and inserted in batches, and each gets the audit events
its service would have written (note.create / note.sign / note.cosign, measures.response_recorded,
homework.log) on the backlog, which signs them into the chain. Note text is encrypted as the field
always does; answers are scored by the real scoring engine.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Callable
from typing import Any

from django.contrib.auth.hashers import make_password

from tandem.accounts.models import Role, User
from tandem.cases.models import Case, Client, Phase
from tandem.demo.audit import AuditBacklog
from tandem.demo.data import BATCH, CLIENT_DOMAIN
from tandem.demo.large_billing import LargeBilling
from tandem.demo.plans import bulk
from tandem.homework.models import Assignment, AssignmentLog, AssignmentStatus, Exercise
from tandem.measures import engine
from tandem.measures.models import Instrument, Response
from tandem.records.models import NoteStatus, NoteTemplate, SessionNote, SessionNoteSection
from tandem.scheduling.models import Appointment, AppointmentKind, AppointmentStatus

NOTE_TEXT = "Synthetic benchmark note: no real person. Session held as planned; homework reviewed."
# How long a co-therapist takes to co-sign a note in the seeded practice.
COSIGN_LAG = dt.timedelta(days=3)
# (appointment id, case id, start, end, therapist ids)
Session = tuple[int, int, dt.datetime, dt.datetime, tuple[int, ...]]


class LargeClinical:
    def __init__(
        self, backlog: AuditBacklog, *, now: dt.datetime, seed: int, progress: Callable[[str], None]
    ) -> None:
        self.backlog = backlog
        self.now = now
        self.rng = random.Random(seed + 11)  # noqa: S311 -- synthetic data
        self.progress = progress

    def write(self) -> None:
        sessions = self._sessions()
        self.notes(sessions)
        self.progress(f"wrote {len(sessions):,} signed session notes")
        partners: dict[int, tuple[int, int | None]] = {
            pk: (a, b) for pk, a, b in Case.objects.values_list("pk", "partner_a_id", "partner_b_id")
        }
        by_case: dict[int, list[Session]] = defaultdict(list)
        for session in sessions:
            by_case[session[1]].append(session)
        self.measures(by_case, partners)
        self.progress("wrote questionnaire responses")
        self.homework(by_case, partners)
        self.progress("wrote homework and its logs")
        # Last, so that the draws above stay as they were: a year of invoices for the receivables bench.
        LargeBilling(now=self.now, seed=self.rng.randrange(1 << 30), progress=self.progress).write()

    def _sessions(self) -> list[Session]:
        therapists: dict[int, list[int]] = defaultdict(list)
        through = Appointment.therapists.through
        for appointment_id, user_id in through.objects.order_by("user_id").values_list(
            "appointment_id", "user_id"
        ):
            therapists[appointment_id].append(user_id)
        rows = (
            Appointment.objects.filter(status=AppointmentStatus.ATTENDED, ends_at__lte=self.now)
            .exclude(kind=AppointmentKind.CONSULTATION)
            .order_by("starts_at", "pk")
            .values_list("pk", "case_id", "starts_at", "ends_at")
        )
        return [(pk, case, s, e, tuple(therapists[pk])) for pk, case, s, e in rows if therapists[pk]]

    def notes(self, sessions: list[Session]) -> None:
        template = NoteTemplate.objects.get(slug="dap")
        keys = [(s["key"], s["label"]) for s in template.sections]
        for start in range(0, len(sessions), BATCH):
            chunk = sessions[start : start + BATCH]
            notes = []
            for _pk, case_id, _s, ends, people in chunk:
                written = min(ends + dt.timedelta(minutes=15), self.now)
                signed = min(written + dt.timedelta(hours=2), self.now)
                # Co-therapy notes of the last three days are still waiting for the second signature.
                cosigned = len(people) > 1 and signed < self.now - COSIGN_LAG
                notes.append(
                    SessionNote(
                        appointment_id=_pk,
                        case_id=case_id,
                        template=template,
                        author_id=people[0],
                        status=NoteStatus.SIGNED,
                        created_at=written,
                        updated_at=signed,
                        signed_at=signed,
                        signed_by_id=people[0],
                        cosigned_at=min(signed + dt.timedelta(days=1), self.now) if cosigned else None,
                        cosigned_by_id=people[1] if cosigned else None,
                        awaiting_cosignature=len(people) > 1 and not cosigned,
                    )
                )
            notes = bulk(SessionNote, notes)
            bulk(
                SessionNoteSection,
                [
                    SessionNoteSection(note=note, position=i, key=key, label=label, text=NOTE_TEXT)
                    for note in notes
                    for i, (key, label) in enumerate(keys)
                ],
            )
            for note in notes:
                self._note_events(note, template.slug)

    def _note_events(self, note: SessionNote, slug: str) -> None:
        target: dict[str, Any] = {
            "target_type": "records.sessionnote",
            "target_id": note.pk,
            "case_id": note.case_id,
        }
        detail = {"template": slug, "appointment": note.appointment_id}
        self.backlog.add(
            at=note.created_at, actor_id=note.author_id, action="note.create", detail=detail, **target
        )
        assert note.signed_at is not None
        self.backlog.add(at=note.signed_at, actor_id=note.author_id, action="note.sign", **target)
        if note.cosigned_at is not None:
            self.backlog.add(
                at=note.cosigned_at, actor_id=note.cosigned_by_id, action="note.cosign", **target
            )

    def measures(
        self, by_case: dict[int, list[Session]], partners: dict[int, tuple[int, int | None]]
    ) -> None:
        """Both partners every third session, scores drifting towards better, scored by the engine."""
        instruments = {i.code: i for i in Instrument.objects.filter(code__in=["CSI16", "GAD7"])}
        ranges = {code: engine.item_ranges(i.definition) for code, i in instruments.items()}
        rows: list[Response] = []
        for case_id, sessions in by_case.items():
            a, b = partners[case_id]
            code = "CSI16" if b is not None else "GAD7"
            if code not in instruments:
                continue
            points = sessions[::3]
            for index, (_pk, _case, starts, _ends, people) in enumerate(points):
                progress = index / max(len(points) - 1, 1)
                level = 0.3 + 0.5 * progress if code == "CSI16" else 0.7 - 0.5 * progress
                for client_id in (a, b):
                    if client_id is not None:
                        rows.append(
                            self._response(instruments[code], ranges[code], case_id, client_id, level)
                        )
                        rows[-1].answered_at = starts - dt.timedelta(hours=1)
                        rows[-1].entered_by_id = people[0]
            if len(rows) >= BATCH:
                self._responses(rows)
                rows = []
        self._responses(rows)

    def _response(
        self,
        instrument: Instrument,
        ranges: list[tuple[str, int, int]],
        case_id: int,
        client_id: int,
        level: float,
    ) -> Response:
        answers: dict[str, int | None] = {
            link_id: max(low, min(high, round(low + (high - low) * level + self.rng.uniform(-0.6, 0.6))))
            for link_id, low, high in ranges
        }
        result = engine.score(instrument.definition, answers)
        return Response(
            instrument=instrument,
            instrument_version=instrument.version,
            client_id=client_id,
            case_id=case_id,
            answers=answers,
            total=result.total,
            band=result.band or "",
            domains=result.as_json(instrument.definition)["domains"],
            flags=result.flags,
            missing=result.missing,
        )

    def _responses(self, rows: list[Response]) -> None:
        for row in bulk(Response, rows):
            self.backlog.add(
                at=row.answered_at,
                actor_id=row.entered_by_id,
                action="measures.response_recorded",
                target_type="measures.response",
                target_id=row.pk,
                case_id=row.case_id,
                detail={
                    "instrument": row.instrument.code,
                    "version": row.instrument_version,
                    "client": row.client_id,
                    "flags": row.flags,
                    "missing": row.missing,
                    "own": False,
                    "requests_completed": 0,
                },
            )

    def homework(
        self, by_case: dict[int, list[Session]], partners: dict[int, tuple[int, int | None]]
    ) -> None:
        """Sensate focus for every couple seen at least three times; each partner logs it twice."""
        exercise = Exercise.objects.filter(slug="sensate-focus-1").first()
        couples = [c for c, s in by_case.items() if partners[c][1] is not None and len(s) >= 3]
        if exercise is None or not couples:
            return
        users = self._portal_users([p for c in couples for p in partners[c] if p is not None])
        open_cases = set(
            Case.objects.filter(pk__in=couples, phase__in=[Phase.TREATMENT, Phase.FOLLOW_UP]).values_list(
                "pk", flat=True
            )
        )
        assignments = bulk(
            Assignment,
            [
                Assignment(
                    case_id=c,
                    exercise=exercise,
                    times_expected=3,
                    assigned_by_id=by_case[c][2][4][0],
                    assigned_at=by_case[c][2][3],
                    status=AssignmentStatus.ACTIVE if c in open_cases else AssignmentStatus.COMPLETED,
                )
                for c in couples
            ],
        )
        logs = [
            AssignmentLog(
                assignment=assignment,
                client_id=client_id,
                author_id=users[client_id],
                logged_at=min(assignment.assigned_at + dt.timedelta(days=days, hours=client_n), self.now),
                done=True,
                rating=self.rng.randint(4, 9),
                shared=True,
            )
            for assignment in assignments
            for client_n, client_id in enumerate(partners[assignment.case_id])
            if client_id is not None
            for days in (2, 5)
        ]
        for log in bulk(AssignmentLog, logs):
            self.backlog.add(
                at=log.logged_at,
                actor_id=log.author_id,
                action="homework.log",
                target_type="homework.assignmentlog",
                target_id=log.pk,
                case_id=log.assignment.case_id,
                detail={"assignment": log.assignment_id, "done": True, "shared": True},
            )

    def _portal_users(self, client_ids: list[int]) -> dict[int, int]:
        """Client id -> portal user id; partners without an account get one nobody knows the password of."""
        have = dict(Client.objects.filter(pk__in=client_ids, user__isnull=False).values_list("pk", "user_id"))
        missing = [pk for pk in client_ids if pk not in have]
        unusable = make_password(None)
        made = bulk(
            User,
            [
                User(
                    username=f"portal-{pk}",
                    role=Role.CLIENT,
                    email=f"portal-{pk}@{CLIENT_DOMAIN}",
                    password=unusable,
                )
                for pk in missing
            ],
        )
        clients = [Client(pk=pk, user_id=user.pk) for pk, user in zip(missing, made, strict=True)]
        Client.objects.bulk_update(clients, ["user_id"], batch_size=BATCH)
        self.backlog.labels.update({user.pk: user.username for user in made})
        return have | {pk: user.pk for pk, user in zip(missing, made, strict=True)}
