"""The de-identified research export: one row per partner of each case that reached treatment.

Kept: the case's kind and format, presenting-problem codes, drop-out, days from first contact to
treatment, each partner's age band, and per outcome measure the baseline and end scores, the reliable
change index and the category. Dropped: names, e-mail addresses, phone numbers, dates of birth, case
references, database ids, staff names, free text. Dates are shifted by a random number of days per case
(the same shift for every date of a case, so intervals stay true); the shifts are drawn afresh for each
export and never stored or written out. Subject and case keys are random per export too, so two exports
cannot be joined by them.
"""

import csv
import datetime as dt
import io
import random
from collections.abc import Sequence
from typing import Any

from tandem.lib.time import practice_zone
from tandem.outcomes.selectors import (
    OUTCOME_INSTRUMENTS,
    PartnerRow,
    case_facts,
    partner_outcomes,
)

MAX_SHIFT_DAYS = 182
AGE_BANDS = ((18, "18-24"), (25, "25-34"), (35, "35-44"), (45, "45-54"), (55, "55-64"), (65, "65+"))


def age_band(born: dt.date | None, on: dt.date | None) -> str:
    if born is None or on is None:
        return "unknown"
    age = on.year - born.year - ((on.month, on.day) < (born.month, born.day))
    band = "under 18"
    for start, label in AGE_BANDS:
        if age >= start:
            band = label
    return band


def _shift(rng: random.Random) -> dt.timedelta:
    # Never zero: a shift of nothing would leave the exact date in the file.
    days = rng.randint(1, MAX_SHIFT_DAYS) * rng.choice((-1, 1))
    return dt.timedelta(days=days)


def _day(moment: dt.datetime | dt.date | None, shift: dt.timedelta) -> str:
    if moment is None:
        return ""
    day = moment.astimezone(practice_zone()).date() if isinstance(moment, dt.datetime) else moment
    return (day + shift).isoformat()


def columns() -> list[str]:
    head = ["subject", "case_key", "partner", "case_kind", "format", "problem_codes", "age_band"]
    head += ["dropout", "days_to_treatment", "treatment_start", "treatment_end"]
    for code in OUTCOME_INSTRUMENTS:
        head += [
            f"{code}_{part}" for part in ("baseline", "baseline_date", "end", "end_date", "rci", "category")
        ]
    return head


def research_rows(user: Any, rng: random.Random | None = None) -> list[list[str]]:
    rng = rng or random.SystemRandom()
    facts = case_facts(user)
    outcomes: dict[tuple[int, int], dict[str, PartnerRow]] = {}
    for code in OUTCOME_INSTRUMENTS:
        rows, _sd = partner_outcomes(user, code, facts, with_dates=True)
        for row in rows:
            outcomes.setdefault((row.case.case_id, row.client_id), {})[code] = row
    shifted = [case for case in facts if case.finished or case.dropout]
    rng.shuffle(shifted)
    out: list[list[str]] = []
    for n, case in enumerate(shifted, start=1):
        shift = _shift(rng)
        for role, (client_id, born) in zip(
            "AB", zip(case.partner_ids, case.birth_dates, strict=True), strict=False
        ):
            line = [
                "",
                f"C{n:05d}",
                role,
                "couple" if case.is_couple else "individual",
                case.format,
                ";".join(case.codes),
                age_band(born, case.treatment_on or case.closed_on),
                "yes" if case.dropout else "no",
                "" if case.days_to_treatment is None else str(case.days_to_treatment),
                _day(case.treatment_on, shift),
                _day(case.ended_at, shift),
            ]
            for code in OUTCOME_INSTRUMENTS:
                line += _measure_cells(outcomes.get((case.case_id, client_id), {}).get(code), shift)
            out.append(line)
    rng.shuffle(out)
    for n, line in enumerate(out, start=1):
        line[0] = f"S{n:05d}"
    return out


def _measure_cells(row: PartnerRow | None, shift: dt.timedelta) -> list[str]:
    if row is None:
        return ["", "", "", "", "", ""]
    outcome = row.outcome
    return [
        "" if outcome.baseline is None else str(outcome.baseline),
        _day(row.baseline_at, shift),
        "" if outcome.end is None else str(outcome.end),
        _day(row.end_at, shift),
        "" if outcome.index is None else f"{outcome.index:.2f}",
        outcome.category,
    ]


def as_csv(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue()
