"""The generic scoring engine: it reads an instrument's `scoring` rules, never per-instrument code.

A definition file holds the FHIR Questionnaire and the scoring rules: each item's value range, the items
(and factors) that make each domain and the total, inclusive bands, and flags as rules. Values arrive as
the published key scores them, so reverse-keyed wording is the form's business, not the engine's.
"""

import json
import operator
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

INSTRUMENTS_DIR = Path(__file__).resolve().parent / "instruments"
MISSING = "-"

_OPS: dict[str, Callable[[Any, Any], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": operator.eq,
}

Answers = Mapping[str, int | None]


class InvalidAnswers(ValueError):
    """The answers do not fit the instrument; the message names the item."""


@dataclass(frozen=True)
class Score:
    instrument: str
    total: Decimal | None
    band: str | None
    domains: dict[str, Decimal | None]
    flags: list[str]
    # linkIds of unanswered items: anything built on them is left unscored.
    missing: list[str] = field(default_factory=list)

    def as_json(self, definition: Mapping[str, Any]) -> dict[str, Any]:
        """The published shape: whole scores as integers, one-decimal scores as floats."""
        scoring = definition["scoring"]
        domain_decimals = scoring.get("domain_decimals", 0)
        return {
            "instrument": self.instrument,
            "total": as_number(self.total, scoring["total"].get("decimals", 0)),
            "band": self.band,
            "domains": {name: as_number(value, domain_decimals) for name, value in self.domains.items()},
            "flags": list(self.flags),
        }


def as_number(value: Decimal | None, decimals: int) -> int | float | None:
    if value is None:
        return None
    if decimals == 0 and value == value.to_integral_value():
        return int(value)
    return float(value)


def instrument_codes() -> list[str]:
    return sorted(path.stem for path in INSTRUMENTS_DIR.glob("*.json"))


@cache
def _read_definition(code: str) -> str:
    return (INSTRUMENTS_DIR / f"{code}.json").read_text(encoding="utf-8")


def load_definition(code: str) -> dict[str, Any]:
    """The shipped definition file for CODE (a fresh copy each time: callers may edit theirs)."""
    if code not in instrument_codes():
        raise InvalidAnswers(f"unknown instrument {code!r}; known: {' '.join(instrument_codes())}")
    return json.loads(_read_definition(code))


def item_ranges(definition: Mapping[str, Any]) -> list[tuple[str, int, int]]:
    return [(item["linkId"], item["min"], item["max"]) for item in definition["scoring"]["items"]]


def _range_text(low: int, high: int) -> str:
    # An en dash, as the published scoring keys write ranges.
    return f"{low}\N{EN DASH}{high}"


def parse_values(definition: Mapping[str, Any], tokens: Sequence[str]) -> dict[str, int | None]:
    """Command-line values in item order ("-" for a missing item) to answers keyed by linkId."""
    ranges = item_ranges(definition)
    if len(tokens) != len(ranges):
        raise InvalidAnswers(
            f"{definition['code']} has {len(ranges)} items, got {len(tokens)} values"
            f" (give one value per item, '-' for a missing item)"
        )
    answers: dict[str, int | None] = {}
    for (link_id, low, high), token in zip(ranges, tokens, strict=True):
        if token == MISSING:
            answers[link_id] = None
            continue
        value = _whole_number(link_id, token)
        # Checked here on the decimal so that "1e999999999" is refused without building a huge int.
        if not low <= value <= high:
            raise InvalidAnswers(f"item {link_id}: {token.strip()} is outside {_range_text(low, high)}")
        answers[link_id] = int(value)
    return validate_answers(definition, answers)


def _whole_number(link_id: str, token: str) -> Decimal:
    try:
        value = Decimal(token.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    # "2.0" is the whole number 2; "1.5", "x", "NaN" and "Infinity" are not answers.
    if not value.is_finite() or value != value.to_integral_value():
        raise InvalidAnswers(f"item {link_id}: {token!r} is not a whole number")
    return value


def validate_answers(definition: Mapping[str, Any], answers: Mapping[str, Any]) -> dict[str, int | None]:
    """Check answers keyed by linkId (None or absent = missing) and return them in item order."""
    ranges = item_ranges(definition)
    known = {link_id for link_id, _low, _high in ranges}
    unknown = sorted(set(answers) - known)
    if unknown:
        raise InvalidAnswers(f"{definition['code']} has no item {unknown[0]}")
    checked: dict[str, int | None] = {}
    for link_id, low, high in ranges:
        value = answers.get(link_id)
        # bool is an int subclass: True must not pass as an answer of 1.
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
            raise InvalidAnswers(f"item {link_id}: {value!r} is not a whole number")
        if value is not None and not low <= value <= high:
            raise InvalidAnswers(f"item {link_id}: {value} is outside {_range_text(low, high)}")
        checked[link_id] = value
    return checked


def _sum_or_none(answers: Answers, items: Sequence[str]) -> int | None:
    values = [answers.get(link_id) for link_id in items]
    if any(value is None for value in values):
        return None
    return sum(value for value in values if value is not None)


def _quantize(value: Decimal, decimals: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP)


def _domains(scoring: Mapping[str, Any], answers: Answers) -> dict[str, Decimal | None]:
    decimals = scoring.get("domain_decimals", 0)
    domains: dict[str, Decimal | None] = {}
    for domain in scoring.get("domains", []):
        raw = _sum_or_none(answers, domain["items"])
        factor = Decimal(str(domain.get("factor", "1")))
        domains[domain["name"]] = None if raw is None else _quantize(raw * factor, decimals)
    return domains


def _total(
    scoring: Mapping[str, Any], answers: Answers, domains: dict[str, Decimal | None]
) -> Decimal | None:
    rule = scoring["total"]
    if rule.get("from_domains"):
        parts = list(domains.values())
        if not parts or any(part is None for part in parts):
            return None
        return _quantize(sum((part for part in parts if part is not None), Decimal(0)), rule["decimals"])
    raw = _sum_or_none(answers, rule["items"])
    return None if raw is None else Decimal(raw)


def band_for(scoring: Mapping[str, Any], total: Decimal | None) -> str | None:
    if total is None:
        return None
    for band in scoring.get("bands", []):
        if Decimal(str(band["min"])) <= total <= Decimal(str(band["max"])):
            return str(band["name"])
    return None


def _flag_raised(rule: Mapping[str, Any], answers: Answers) -> bool:
    compare = _OPS[rule["op"]]
    if "item" in rule:
        value = answers.get(rule["item"])
        # An unanswered item cannot raise a flag; the missing list already says it was not answered.
        return value is not None and compare(value, rule["value"])
    count = sum(1 for link_id in rule["count_items"] if answers.get(link_id) == rule["equal_to"])
    return compare(count, rule["value"])


def score(definition: Mapping[str, Any], answers: Answers) -> Score:
    """Score validated answers (see validate_answers) by the definition's rules."""
    scoring = definition["scoring"]
    domains = _domains(scoring, answers)
    total = _total(scoring, answers, domains)
    return Score(
        instrument=definition["code"],
        total=total,
        band=band_for(scoring, total),
        domains=domains,
        flags=[flag["name"] for flag in scoring.get("flags", []) if _flag_raised(flag, answers)],
        missing=[link_id for link_id, _low, _high in item_ranges(definition) if answers.get(link_id) is None],
    )


@dataclass(frozen=True)
class ReliableChange:
    index: float
    # "improved", "deteriorated" or "no_reliable_change", by the instrument's direction.
    verdict: str


RELIABLE_Z = 1.96


def reliable_change(definition: Mapping[str, Any], before: Decimal, after: Decimal) -> ReliableChange | None:
    """Jacobson & Truax (1991) reliable change index; None when the definition lacks r or the norm SD."""
    scoring = definition["scoring"]
    values = scoring.get("reliable_change", {})
    reliability, norm_sd = values.get("reliability"), values.get("norm_sd")
    if reliability is None or norm_sd is None:
        return None
    standard_error = float(norm_sd) * (1 - float(reliability)) ** 0.5
    index = float(after - before) / (2 * standard_error**2) ** 0.5
    if abs(index) <= RELIABLE_Z:
        return ReliableChange(index, "no_reliable_change")
    better = index > 0 if scoring.get("higher_is") == "better" else index < 0
    return ReliableChange(index, "improved" if better else "deteriorated")
