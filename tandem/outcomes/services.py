"""The one writer of the outcomes registry (models.py): `outcome_rows_refresh`.

It derives each case's rows with the same selectors and rules the outcome methods define (selectors.py,
rules.py), so the stored figures are those the page would compute from the raw scores. It runs after
commit for one case whenever a service changes an input (`later.py`), and for every case from
`manage.py outcomes_rebuild`. Derived figures only: a refresh after a change writes no audit row of its
own (the change that prompted it has one); a rebuild of everything writes one.
"""

import uuid
from collections import Counter
from collections.abc import Collection
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, QuerySet

from tandem.audit.actors import OUTCOMES_REBUILD
from tandem.audit.services import audit_record
from tandem.cases.models import Case, PresentingProblem
from tandem.measures.engine import load_definition
from tandem.outcomes import rules
from tandem.outcomes.models import OutcomeNorm, OutcomeProblem, OutcomeRow, OutcomeStamp
from tandem.outcomes.selectors import (
    FOLLOW_UP_WINDOWS,
    OUTCOME_INSTRUMENTS,
    CaseFacts,
    Score,
    facts_of,
    follow_up_scores_of,
    scores_of,
)

BATCH = 1000
(WINDOW_3, WINDOW_6) = FOLLOW_UP_WINDOWS


def _change(before: Decimal | None, after: Decimal | None) -> float | None:
    # The same float the engine divides: float(after - before) of the exact decimal difference.
    return None if before is None or after is None else float(after - before)


def _partner_fields(
    prefix: str, definition: dict, scores: tuple[Score | None, Score | None], follow_ups: dict[str, Decimal]
) -> dict[str, object]:
    baseline = scores[0][1] if scores[0] else None
    end = scores[1][1] if scores[1] else None
    crossed = (
        baseline is not None
        and end is not None
        and rules.is_clinical(definition, baseline)
        and not rules.is_clinical(definition, end)
    )
    return {
        f"{prefix}_baseline": baseline,
        f"{prefix}_end": end,
        f"{prefix}_change": _change(baseline, end),
        f"{prefix}_crossed": crossed,
        f"{prefix}_follow_up_3": _change(baseline, follow_ups.get(WINDOW_3)),
        f"{prefix}_follow_up_6": _change(baseline, follow_ups.get(WINDOW_6)),
    }


def _rows_for(cases: QuerySet[Case], facts: list[CaseFacts]) -> list[OutcomeRow]:
    rows = []
    for code in OUTCOME_INSTRUMENTS:
        definition = load_definition(code)
        scores = scores_of(cases, code)
        follow_ups = follow_up_scores_of(cases, code)
        for case in facts:
            partners: dict[str, object] = {}
            for prefix, client_id in zip("ab", case.partner_ids, strict=False):
                key = (case.case_id, client_id)
                found = scores.get(key, (None, None)) if case.finished else (None, None)
                partners |= _partner_fields(prefix, definition, found, follow_ups.get(key, {}))
            staff_kind, _sep, staff_id = case.staff_key.partition(":")
            rows.append(
                OutcomeRow(
                    case_id=case.case_id,
                    instrument=code,
                    is_couple=case.is_couple,
                    format=case.format,
                    team_id=int(staff_id) if staff_kind == "team" else None,
                    therapist_id=int(staff_id) if staff_kind == "therapist" else None,
                    period=case.period,
                    finished=case.finished,
                    dropout=case.dropout,
                    days_to_treatment=case.days_to_treatment,
                    **partners,
                )
            )
    return rows


def _problems_for(facts: list[CaseFacts], rows: list[OutcomeRow]) -> list[OutcomeProblem]:
    slugs = {slug for case in facts for slug, _label in case.problems}
    ids = dict(PresentingProblem.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    problems = {case.case_id: [ids[slug] for slug, _label in case.problems] for case in facts}
    return [
        OutcomeProblem(row=row, problem_id=problem, instrument=row.instrument)
        for row in rows
        for problem in problems[row.case_id]
    ]


def _finished_baselines(rows: QuerySet[OutcomeRow], code: str) -> Counter[Decimal]:
    """The multiset of finished cases' baselines on CODE, counted by the database."""
    found: Counter[Decimal] = Counter()
    mine = rows.filter(instrument=code, finished=True)
    for prefix in ("a", "b"):
        field = f"{prefix}_baseline"
        counted = mine.filter(**{f"{field}__isnull": False}).values(field).annotate(n=Count("pk"))
        for item in counted.order_by():
            found[item[field]] += item["n"]
    return found


def _norms_refresh(codes: list[str]) -> None:
    """Recompute the practice SD of each CODE from every finished case's baselines, under a lock so that
    two refreshes committing at once cannot leave the older figure behind."""
    for code in codes:
        OutcomeNorm.objects.get_or_create(instrument=code)
        norm = OutcomeNorm.objects.select_for_update().get(instrument=code)
        baselines = _finished_baselines(OutcomeRow.objects.all(), code)
        values = [value for value, n in sorted(baselines.items()) for _ in range(n)]
        norm.sd = rules.baseline_sd(values)
        norm.baselines = len(values)
        norm.save(update_fields=["sd", "baselines"])


def _practice_sd_codes() -> list[str]:
    return [code for code in OUTCOME_INSTRUMENTS if rules.needs_practice_sd(load_definition(code))]


def _stamp_renew() -> None:
    """A new stamp in the writer's transaction: counts remembered under the old one are not read again."""
    OutcomeStamp.objects.bulk_create([OutcomeStamp(pk=1)], ignore_conflicts=True)
    OutcomeStamp.objects.filter(pk=1).update(value=uuid.uuid4())


def outcome_rows_refresh(*, case_ids: Collection[int] | None = None) -> int:
    """Rewrite the registry rows of CASE_IDS (every case when None) from their stored records; returns
    how many rows were written. A case no longer in the registry's scope loses its rows."""
    with transaction.atomic():
        if case_ids is None:
            cases = Case.objects.all()
            stored = OutcomeRow.objects.all()
        else:
            # Lock the cases: two refreshes of one case must not interleave their delete and insert.
            list(Case.objects.locked().filter(pk__in=case_ids).order_by("pk").values("pk"))
            cases = Case.objects.filter(pk__in=case_ids)
            stored = OutcomeRow.objects.filter(case_id__in=case_ids)
        sd_codes = _practice_sd_codes()
        before = {code: _finished_baselines(stored, code) for code in sd_codes}
        facts = facts_of(cases)
        rows = _rows_for(cases, facts)
        stored.delete()  # and their problems, by cascade
        OutcomeRow.objects.bulk_create(rows, batch_size=BATCH)
        OutcomeProblem.objects.bulk_create(_problems_for(facts, rows), batch_size=BATCH)
        if case_ids is None:
            audit_record(actor=OUTCOMES_REBUILD, action="outcomes.rebuild", detail={"rows": len(rows)})
        _norms_refresh(
            [
                code
                for code in sd_codes
                if case_ids is None or _finished_baselines(stored, code) != before[code]
            ]
        )
        _stamp_renew()
    return len(rows)
