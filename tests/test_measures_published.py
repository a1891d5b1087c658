"""Every shipped instrument accepts exactly the answers its published form allows, and scores them by the
published key.

Each class below names, in its docstring, the publication behind every rule it checks (author, year,
title). The expected figures are written out or computed here by hand from those rules, never taken from
the engine: the item ranges, the bands and cut-offs, and at least two worked examples per instrument.
Every answer of every item is scored through `manage.py score_measure`, and one value beyond each end of
every item is refused.

Missing items: none of the publications below gives a proration rule for a partly answered form, so the
project's rule applies to all of them and is tested here: a total (and its band) built on an unanswered
item is left unscored, the unanswered items are named, and flags still come from the items that were
answered (an FSFI domain without a missing item keeps its score).

Reverse keying: on the published forms every printed answer already carries its scored value (the
FSFI pain items 17-19 score "almost always" pain as 1 and "almost never" as 5; the CSI semantic-
differential items print their numbers from 5 down to 0 where the positive word comes first), so the
scored value is what the form sends and the engine reverses nothing. `test_the_engine_reverses_nothing`
holds it to that.
"""

import io
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

import pytest
from django.core.management import call_command
from django.urls import reverse

from tandem.cases.models import CaseProblem, PresentingProblem
from tandem.measures import engine
from tandem.measures.loader import load_instruments
from tandem.measures.models import Instrument, MeasureRequest, Response
from tandem.measures.schedule import measures_schedule_for_case
from tests.cast import login
from tests.measures_support import record

Values = list[int | None]


@dataclass(frozen=True)
class Example:
    """A filled-in form and the score the published key gives it, worked out by hand in `why`."""

    values: Values
    total: Any
    band: str | None
    why: str
    flags: tuple[str, ...] = ()
    domains: dict[str, float] | None = None


def command_score(code: str, values: Values) -> dict[str, Any]:
    """What `manage.py score_measure` prints for these values, parsed."""
    out = io.StringIO()
    tokens = [engine.MISSING if value is None else str(value) for value in values]
    call_command("score_measure", code, *tokens, stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


def band_of(bands: list[tuple[Any, Any, str]], total: Any) -> str | None:
    if total is None:
        return None
    return next(name for low, high, name in bands if Decimal(str(low)) <= Decimal(str(total)) <= high)


class _Published:
    """The checks every instrument gets; each subclass states its published rules and their sources."""

    CODE: ClassVar[str]
    # (lowest, highest) scored answer of each item, in item order, from the published form.
    RANGES: ClassVar[list[tuple[int, int]]]
    # (min, max, band), both inclusive, from the published cut-offs.
    BANDS: ClassVar[list[tuple[Any, Any, str]]]
    CUTOFF: ClassVar[Decimal]
    EXAMPLES: ClassVar[list[Example]]

    def expected(self, values: list[int]) -> dict[str, Any]:
        """The published key applied by hand: a plain item sum (the FSFI overrides this)."""
        total = sum(values)
        return {
            "instrument": self.CODE,
            "total": total,
            "band": band_of(self.BANDS, total),
            "domains": {},
            "flags": list(self.flags(values)),
        }

    def flags(self, values: list[int]) -> tuple[str, ...]:
        return ()

    def test_item_ranges_are_the_published_ones(self):
        ranges = engine.item_ranges(engine.load_definition(self.CODE))
        assert [(low, high) for _link, low, high in ranges] == self.RANGES
        assert [link for link, _low, _high in ranges] == [str(n) for n in range(1, len(self.RANGES) + 1)]

    def test_the_form_offers_exactly_the_published_answers(self):
        questions = [
            item
            for item in engine.load_definition(self.CODE)["questionnaire"]["item"]
            if item["type"] != "display"
        ]
        for question, (low, high) in zip(questions, self.RANGES, strict=True):
            offered = [option["valueCoding"]["code"] for option in question["answerOption"]]
            assert offered == [str(value) for value in range(low, high + 1)], question["linkId"]

    def test_every_answer_of_every_item_scores(self):
        base = [low for low, _high in self.RANGES]
        for index, (low, high) in enumerate(self.RANGES):
            for value in range(low, high + 1):
                values = [*base[:index], value, *base[index + 1 :]]
                assert command_score(self.CODE, values) == self.expected(values), (index + 1, value)

    def test_one_beyond_each_end_is_refused(self):
        definition = engine.load_definition(self.CODE)
        base = [low for low, _high in self.RANGES]
        for index, (low, high) in enumerate(self.RANGES):
            link = str(index + 1)
            for wrong in (low - 1, high + 1):
                message = f"item {link}: {wrong} is outside {low}\N{EN DASH}{high}"
                tokens = [str(v) for v in [*base[:index], wrong, *base[index + 1 :]]]
                with pytest.raises(engine.InvalidAnswers, match=message):
                    engine.parse_values(definition, tokens)
                answers = {str(n): v for n, v in enumerate(base, start=1)} | {link: wrong}
                with pytest.raises(engine.InvalidAnswers, match=message):
                    engine.validate_answers(definition, answers)

    def test_the_command_exits_2_on_an_answer_the_form_does_not_offer(self):
        _low, high = self.RANGES[-1]
        values: Values = [low for low, _high in self.RANGES[:-1]] + [high + 1]
        with pytest.raises(SystemExit) as exit_code:
            command_score(self.CODE, values)
        assert exit_code.value.code == 2

    def test_bands_and_cut_off_are_the_published_ones(self):
        scoring = engine.load_definition(self.CODE)["scoring"]
        shipped = [(Decimal(str(b["min"])), Decimal(str(b["max"])), b["name"]) for b in scoring["bands"]]
        assert shipped == [(Decimal(str(low)), Decimal(str(high)), name) for low, high, name in self.BANDS]
        assert Decimal(str(scoring["cutoff"])) == self.CUTOFF

    def test_worked_examples(self):
        assert len(self.EXAMPLES) >= 2
        for example in self.EXAMPLES:
            result = command_score(self.CODE, example.values)
            assert result["total"] == example.total, example.why
            assert result["band"] == example.band, example.why
            assert result["flags"] == list(example.flags), example.why
            assert result["domains"] == (example.domains or {}), example.why

    def test_a_missing_item_leaves_the_total_unscored_and_is_named(self):
        definition = engine.load_definition(self.CODE)
        top = [high for _low, high in self.RANGES]
        for index in range(len(self.RANGES)):
            values: Values = [*top[:index], None, *top[index + 1 :]]
            answers = {str(n): v for n, v in enumerate(values, start=1)}
            result = engine.score(definition, engine.validate_answers(definition, answers))
            assert result.total is None and result.band is None
            assert result.missing == [str(index + 1)]

    def test_the_engine_reverses_nothing(self):
        """One step up on any item moves the score up by that item's weight: no item is reversed."""
        base = [low for low, _high in self.RANGES]
        before = Decimal(str(command_score(self.CODE, list(base))["total"]))
        for index, (low, _high) in enumerate(self.RANGES):
            values = [*base[:index], low + 1, *base[index + 1 :]]
            after = Decimal(str(command_score(self.CODE, values)["total"]))
            assert after - before == self.weight(index), index + 1

    def weight(self, index: int) -> Decimal:
        return Decimal(1)


class TestPHQ9(_Published):
    """PHQ-9.

    - Items, answers 0-3 ("not at all" 0, "several days" 1, "more than half the days" 2, "nearly every
      day" 3), total 0-27, severity at 5, 10, 15 and 20 (mild, moderate, moderately severe, severe) and 10
      as the cut-off for major depression: Kroenke K, Spitzer RL, Williams JBW (2001), "The PHQ-9:
      validity of a brief depression severity measure", J Gen Intern Med 16:606-613. The paper's tenth
      question (how difficult the problems made life) is not part of the score and is not asked here.
    - Item 9 (thoughts of being better off dead or of self-harm) at 1 or more raises the safety flag:
      the same paper's item 9; the alert is this practice's rule, not part of the published score.
    """

    CODE = "PHQ9"
    RANGES = [(0, 3)] * 9
    BANDS = [
        (0, 4, "minimal"),
        (5, 9, "mild"),
        (10, 14, "moderate"),
        (15, 19, "moderately_severe"),
        (20, 27, "severe"),
    ]
    CUTOFF = Decimal(10)
    EXAMPLES = [
        Example([3, 3, 2, 2, 1, 1, 0, 0, 0], 12, "moderate", "3+3+2+2+1+1 = 12, in 10-14"),
        Example([1, 1, 1, 1, 1, 0, 0, 0, 0], 5, "mild", "five items on several days = 5, the mild threshold"),
        Example(
            [3, 3, 3, 3, 3, 3, 2, 0, 1],
            21,
            "severe",
            "6 x 3 + 2 + 1 = 21, 20 or more; item 9 at 1 raises the flag",
            flags=("suicidal_ideation",),
        ),
    ]

    def flags(self, values: list[int]) -> tuple[str, ...]:
        return ("suicidal_ideation",) if values[8] >= 1 else ()

    def test_item_9_still_flags_when_another_item_is_missing(self):
        result = command_score(self.CODE, [None, 0, 0, 0, 0, 0, 0, 0, 2])
        assert result == {
            "instrument": "PHQ9",
            "total": None,
            "band": None,
            "domains": {},
            "flags": ["suicidal_ideation"],
        }


class TestGAD7(_Published):
    """GAD-7.

    Items answered 0-3 (as the PHQ-9), total 0-21, cut points 5, 10 and 15 for mild, moderate and severe
    anxiety, 10 as the cut-off: Spitzer RL, Kroenke K, Williams JBW, Löwe B (2006), "A brief measure for
    assessing generalized anxiety disorder: the GAD-7", Arch Intern Med 166:1092-1097.
    """

    CODE = "GAD7"
    RANGES = [(0, 3)] * 7
    BANDS = [(0, 4, "minimal"), (5, 9, "mild"), (10, 14, "moderate"), (15, 21, "severe")]
    CUTOFF = Decimal(10)
    EXAMPLES = [
        Example([2, 2, 2, 2, 2, 2, 2], 14, "moderate", "7 x 2 = 14, the top of 10-14"),
        Example([3, 3, 3, 3, 3, 0, 0], 15, "severe", "5 x 3 = 15, 15 or more"),
        Example([1, 1, 1, 1, 0, 0, 0], 4, "minimal", "4 x 1 = 4, below 5"),
    ]


class TestCSI4(_Published):
    """CSI-4.

    Item 1 (happiness, all things considered) answered 0-6 ("extremely unhappy" to "perfect"), items 2-4
    answered 0-5, total 0-21, scores below 13.5 suggest notable relationship dissatisfaction: Funk JL,
    Rogge RD (2007), "Testing the ruler with item response theory: increasing precision of measurement for
    relationship satisfaction with the Couples Satisfaction Index", J Fam Psychol 21:572-583.
    """

    CODE = "CSI4"
    RANGES = [(0, 6), (0, 5), (0, 5), (0, 5)]
    BANDS = [(0, 13, "distressed"), (14, 21, "not_distressed")]
    CUTOFF = Decimal("13.5")
    EXAMPLES = [
        Example([4, 4, 3, 3], 14, "not_distressed", "4+4+3+3 = 14, above 13.5"),
        Example([3, 3, 3, 4], 13, "distressed", "3+3+3+4 = 13, below 13.5"),
        Example([6, 5, 5, 5], 21, "not_distressed", "6+5+5+5 = 21, the maximum"),
    ]


class TestCSI16(_Published):
    """CSI-16.

    Item 1 answered 0-6, items 2-16 answered 0-5 (the semantic-differential items print their scored
    numbers on the form, descending where the positive word comes first), total 0-81, scores below 51.5
    suggest notable relationship dissatisfaction: Funk JL, Rogge RD (2007), "Testing the ruler with item
    response theory: increasing precision of measurement for relationship satisfaction with the Couples
    Satisfaction Index", J Fam Psychol 21:572-583.
    """

    CODE = "CSI16"
    RANGES = [(0, 6)] + [(0, 5)] * 15
    BANDS = [(0, 51, "distressed"), (52, 81, "not_distressed")]
    CUTOFF = Decimal("51.5")
    EXAMPLES = [
        Example([4] + [3] * 15, 49, "distressed", "4 + 15 x 3 = 49, below 51.5"),
        Example([4] + [3] * 12 + [4] * 3, 52, "not_distressed", "4 + 12 x 3 + 3 x 4 = 52, above 51.5"),
        Example([6] + [5] * 15, 81, "not_distressed", "6 + 15 x 5 = 81, the maximum"),
    ]


class TestIIEF5(_Published):
    """IIEF-5 (SHIM).

    - Item 1 (confidence) answered 1-5; items 2-5 answered 0-5, where 0 is "No sexual activity" (item 2)
      or "Did not attempt intercourse" (items 3-5); the total is the item sum; 21 or less suggests
      erectile dysfunction; severity 5-7 severe, 8-11 moderate, 12-16 mild to moderate, 17-21 mild,
      22-25 none: Rosen RC, Cappelleri JC, Smith MD, Lipsky J, Peña BM (1999), "Development and
      evaluation of an abridged, 5-item version of the International Index of Erectile Function (IIEF-5)
      as a diagnostic tool for erectile dysfunction", Int J Impot Res 11:319-326.
    - Totals 1-4 arise only from 0 answers and lie below the published severity bands, so they are
      "not_classifiable" (this project's rule: the paper classifies 5-25 only).
    """

    CODE = "IIEF5"
    RANGES = [(1, 5)] + [(0, 5)] * 4
    BANDS = [
        (1, 4, "not_classifiable"),
        (5, 7, "severe"),
        (8, 11, "moderate"),
        (12, 16, "mild_to_moderate"),
        (17, 21, "mild"),
        (22, 25, "none"),
    ]
    CUTOFF = Decimal("21.5")
    EXAMPLES = [
        Example([4, 4, 4, 4, 5], 21, "mild", "4+4+4+4+5 = 21, the highest score that suggests ED"),
        Example([5, 5, 5, 4, 4], 23, "none", "5+5+5+4+4 = 23, in 22-25"),
        Example([3, 2, 1, 0, 2], 8, "moderate", "3+2+1+0+2 = 8 (item 4: did not attempt), in 8-11"),
        Example([2, 0, 0, 0, 0], 2, "not_classifiable", "2 + four 0 answers = 2, below the bands"),
        Example([2, 1, 1, 1, 1], 6, "severe", "2+1+1+1+1 = 6, in 5-7"),
    ]
    ZERO_LABELS = {
        "2": "No sexual activity",
        "3": "Did not attempt intercourse",
        "4": "Did not attempt intercourse",
        "5": "Did not attempt intercourse",
    }

    def test_the_zero_answers_carry_their_published_labels(self):
        questions = engine.load_definition(self.CODE)["questionnaire"]["item"]
        zeros = {
            q["linkId"]: option["valueCoding"]["display"]
            for q in questions
            for option in q["answerOption"]
            if option["valueCoding"]["code"] == "0"
        }
        assert zeros == self.ZERO_LABELS


class TestFSFI(_Published):
    """FSFI.

    - Items 1-2 (desire) and 15-16 answered 1-5; items 3-14 answered 0-5 with 0 "No sexual activity";
      items 17-19 (pain, scored so that "almost always" pain is 1 and "almost never" 5) answered 0-5 with
      0 "Did not attempt intercourse"; domains desire 1-2 x 0.6, arousal 3-6 x 0.3, lubrication 7-10 x
      0.3, orgasm 11-13 x 0.4, satisfaction 14-16 x 0.4, pain 17-19 x 0.4; the total is the sum of the
      domains, 2.0-36.0: Rosen R, Brown C, Heiman J, Leiblum S, Meston C, Shabsigh R, Ferguson D,
      D'Agostino R (2000), "The Female Sexual Function Index (FSFI): a multidimensional self-report
      instrument for the assessment of female sexual function", J Sex Marital Ther 26:191-208.
    - 26.55 or less indicates sexual dysfunction (the total has one decimal, so 26.5 and below):
      Wiegel M, Meston C, Rosen R (2005), "The Female Sexual Function Index (FSFI): cross-validation and
      development of clinical cutoff scores", J Sex Marital Ther 31:1-20.
    - "sexually_inactive" (more than 7 of the 15 items that allow it answered 0) is this project's
      flag, not a published rule: the papers say only that the FSFI describes sexually active women.
    """

    CODE = "FSFI"
    RANGES = [(1, 5)] * 2 + [(0, 5)] * 12 + [(1, 5)] * 2 + [(0, 5)] * 3
    BANDS = [
        (Decimal("2.0"), Decimal("26.5"), "dysfunction"),
        (Decimal("26.6"), Decimal("36.0"), "no_dysfunction"),
    ]
    CUTOFF = Decimal("26.55")
    DOMAINS = {
        "desire": ((1, 2), "0.6"),
        "arousal": ((3, 6), "0.3"),
        "lubrication": ((7, 10), "0.3"),
        "orgasm": ((11, 13), "0.4"),
        "satisfaction": ((14, 16), "0.4"),
        "pain": ((17, 19), "0.4"),
    }
    ZERO_ALLOWED = [*range(3, 15), 17, 18, 19]
    EXAMPLES = [
        Example(
            [4, 3, 4, 4, 3, 4, 5, 5, 4, 4, 4, 3, 4, 5, 4, 4, 5, 5, 4],
            29.3,
            "no_dysfunction",
            "7x0.6=4.2 + 15x0.3=4.5 + 18x0.3=5.4 + 11x0.4=4.4 + 13x0.4=5.2 + 14x0.4=5.6 = 29.3",
            domains={
                "desire": 4.2,
                "arousal": 4.5,
                "lubrication": 5.4,
                "orgasm": 4.4,
                "satisfaction": 5.2,
                "pain": 5.6,
            },
        ),
        Example(
            [2, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 3, 0, 0, 0],
            4.8,
            "dysfunction",
            "no sexual activity: 4x0.6=2.4 + (0+3+3)x0.4=2.4 = 4.8; 15 zero answers",
            flags=("sexually_inactive",),
            domains={
                "desire": 2.4,
                "arousal": 0.0,
                "lubrication": 0.0,
                "orgasm": 0.0,
                "satisfaction": 2.4,
                "pain": 0.0,
            },
        ),
        Example(
            [5] * 16 + [1, 1, 1],
            31.2,
            "no_dysfunction",
            "pain almost always (1 on 17-19): 5 x 6.0 + 3x0.4=1.2 = 31.2",
            domains={"desire": 6.0, "arousal": 6.0, "lubrication": 6.0, "orgasm": 6.0, "satisfaction": 6.0}
            | {"pain": 1.2},
        ),
    ]

    def _domains(self, values: Values) -> dict[str, Decimal | None]:
        domains: dict[str, Decimal | None] = {}
        for name, ((first, last), factor) in self.DOMAINS.items():
            items = values[first - 1 : last]
            domains[name] = None if None in items else sum(Decimal(v or 0) for v in items) * Decimal(factor)
        return domains

    def expected(self, values: list[int]) -> dict[str, Any]:
        domains = self._domains(list(values))
        total = sum(d for d in domains.values() if d is not None)
        return {
            "instrument": "FSFI",
            "total": float(total),
            "band": band_of(self.BANDS, total),
            "domains": {name: float(d) for name, d in domains.items() if d is not None},
            "flags": list(self.flags(values)),
        }

    def flags(self, values: list[int]) -> tuple[str, ...]:
        zeros = sum(1 for n in self.ZERO_ALLOWED if values[n - 1] == 0)
        return ("sexually_inactive",) if zeros > 7 else ()

    def weight(self, index: int) -> Decimal:
        return next(Decimal(f) for (first, last), f in self.DOMAINS.values() if first <= index + 1 <= last)

    def test_the_zero_answers_carry_their_published_labels(self):
        questions = engine.load_definition(self.CODE)["questionnaire"]["item"]
        zeros = {
            int(q["linkId"]): option["valueCoding"]["display"]
            for q in questions
            for option in q["answerOption"]
            if option["valueCoding"]["code"] == "0"
        }
        assert sorted(zeros) == self.ZERO_ALLOWED
        assert {zeros[n] for n in range(3, 15)} == {"No sexual activity"}
        assert {zeros[n] for n in (17, 18, 19)} == {"Did not attempt intercourse"}

    def test_a_missing_item_nulls_only_its_own_domain(self):
        for name, ((first, last), _factor) in self.DOMAINS.items():
            values: Values = [5] * 19
            values[first - 1] = None
            result = command_score(self.CODE, values)
            assert result["total"] is None and result["band"] is None
            assert result["domains"] == {other: (None if other == name else 6.0) for other in self.DOMAINS}, (
                last
            )

    def test_cut_off_26_55_by_hand(self):
        # 10x0.6=6.0 + 0 + 15x0.3=4.5 + 10x0.4=4.0 + 15x0.4=6.0 + 15x0.4=6.0 = 26.5: dysfunction.
        at = command_score(self.CODE, [5, 5, 0, 0, 0, 0, 0, 5, 5, 5, 0, 5, 5, 5, 5, 5, 5, 5, 5])
        # One more step on item 11 (orgasm +0.4) and one less on item 10 (lubrication -0.3): 26.6.
        above = command_score(self.CODE, [5, 5, 0, 0, 0, 0, 0, 5, 5, 4, 1, 5, 5, 5, 5, 5, 5, 5, 5])
        assert (at["total"], at["band"]) == (26.5, "dysfunction")
        assert (above["total"], above["band"]) == (26.6, "no_dysfunction")


class TestPEDT(_Published):
    """PEDT.

    Five items answered 0-4, total 0-20; 8 or less no PE, 9-10 probable PE, 11 or more PE: Symonds T,
    Perelman MA, Althof S, Giuliano F, Martin M, May K, Abraham L, Crossland A, Morris M (2007),
    "Development and validation of a premature ejaculation diagnostic tool", Eur Urol 52:565-573.
    """

    CODE = "PEDT"
    RANGES = [(0, 4)] * 5
    BANDS = [(0, 8, "no_pe"), (9, 10, "probable_pe"), (11, 20, "pe")]
    CUTOFF = Decimal("10.5")
    EXAMPLES = [
        Example([2, 2, 2, 2, 1], 9, "probable_pe", "2+2+2+2+1 = 9, in 9-10"),
        Example([3, 3, 2, 2, 1], 11, "pe", "3+3+2+2+1 = 11, 11 or more"),
        Example([1, 1, 1, 1, 0], 4, "no_pe", "1+1+1+1+0 = 4, 8 or less"),
    ]


class TestFSDSR(_Published):
    """FSDS-R.

    Thirteen items answered 0-4 ("never" 0, "rarely" 1, "occasionally" 2, "frequently" 3, "always" 4),
    total 0-52, 11 or more indicates sexually related distress: Derogatis L et al. (2008), "Validation of
    the Female Sexual Distress Scale-Revised for assessing distress in women with hypoactive sexual desire
    disorder", J Sex Med 5:357-364.
    """

    CODE = "FSDSR"
    RANGES = [(0, 4)] * 13
    BANDS = [(0, 10, "no_distress"), (11, 52, "distress")]
    CUTOFF = Decimal("10.5")
    EXAMPLES = [
        Example([1] * 11 + [0, 0], 11, "distress", "eleven items rarely = 11, 11 or more"),
        Example([2] * 5 + [0] * 8, 10, "no_distress", "five items occasionally = 10, below 11"),
        Example([4] * 13, 52, "distress", "13 x 4 = 52, the maximum"),
    ]


# The portal and the library: the answers the published form allows reach the client, and stored
# responses keep the version that scored them.


@pytest.fixture
def erectile_case(cast):
    load_instruments()
    case = cast.couple_case
    problem = PresentingProblem.objects.get(slug="erectile-disorder")
    CaseProblem.objects.create(case=case, problem=problem, client=case.partner_a)
    measures_schedule_for_case(case.pk)
    return cast


def test_portal_offers_and_saves_the_iief5_zero_answers(client, erectile_case):
    cast = erectile_case
    due = MeasureRequest.objects.get(client=cast.couple_case.partner_a, instrument__code="IIEF5")
    url = reverse("measures:my_fill", kwargs={"request_id": due.pk})
    login(client, cast.partner_a)
    page = client.get(url).content.decode()
    assert 'name="item_2" value="0"' in page
    assert "No sexual activity" in page
    assert 'name="item_5" value="0"' in page
    assert "Did not attempt intercourse" in page
    assert 'name="item_1" value="0"' not in page  # confidence has no 0 on the published form
    posted = client.post(url, {"item_1": "2", "item_2": "0", "item_3": "0", "item_4": "0", "item_5": "0"})
    assert posted.status_code == 302
    saved = Response.objects.get(client=cast.couple_case.partner_a, instrument__code="IIEF5")
    assert saved.total == 2 and saved.band == "not_classifiable"
    assert saved.instrument_version == "1.1"


def test_stored_responses_keep_the_version_that_scored_them(cast, db):
    load_instruments()
    # The library as it stood before this change: IIEF-5 1.0, items 2-5 from 1.
    old = engine.load_definition("IIEF5")
    old["version"] = old["questionnaire"]["version"] = "1.0"
    for item in old["scoring"]["items"][1:]:
        item["min"] = 1
    Instrument.objects.filter(code="IIEF5").update(version="1.0", definition=old)
    case = cast.couple_case
    before = record(cast.therapist_a, case, case.partner_a, "IIEF5", {str(n): 3 for n in range(1, 6)})
    assert dict(load_instruments())["IIEF5"] == "updated"
    before.refresh_from_db()
    assert (before.instrument_version, before.total, before.band) == ("1.0", 15, "mild_to_moderate")
    after = record(cast.therapist_a, case, case.partner_a, "IIEF5", {"1": 3, "2": 0, "3": 0, "4": 0, "5": 0})
    assert (after.instrument_version, after.total, after.band) == ("1.1", 3, "not_classifiable")
