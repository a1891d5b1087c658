"""The paperwork's pure rules: the CPT code of each kind of session, the shipped ICD-10-CM list, the NPI."""

import pytest
from stdnum import luhn

from tandem.claims.codes import (
    CPT_LABELS,
    ICD10CM,
    Coding,
    Session,
    cpt_for,
    individual_by_minutes,
    npi_is_valid,
    suggested_diagnoses,
)

PATIENT, PARTNER = 1, 2
BOTH, ALONE, PARTNER_ONLY = frozenset({1, 2}), frozenset({1}), frozenset({2})


def code(kind: str, attendees: frozenset[int] = BOTH, minutes: int = 60, mode: str = "in_person", **kw):
    return cpt_for(Session(kind, mode, minutes, attendees, PATIENT, **kw))


@pytest.mark.parametrize(
    ("kind", "attendees", "minutes", "mode", "flags", "expected"),
    [
        ("joint_assessment", BOTH, 90, "in_person", {}, Coding("90791", (), (), "11")),
        ("individual_assessment", ALONE, 60, "in_person", {}, Coding("90791", (), (), "11")),
        (
            "individual_assessment",
            ALONE,
            60,
            "in_person",
            {"interactive": True},
            Coding("90791", ("90785",), (), "11"),
        ),
        ("standard", BOTH, 60, "in_person", {}, Coding("90847", (), (), "11")),
        ("standard", PARTNER_ONLY, 50, "in_person", {}, Coding("90846", (), (), "11")),
        ("intensive", BOTH, 120, "in_person", {}, Coding("90847", (), (), "11")),
        # +90785 never goes with the family codes.
        ("standard", BOTH, 60, "in_person", {"interactive": True}, Coding("90847", (), (), "11")),
        ("standard", BOTH, 25, "in_person", {}, None),
        ("standard", BOTH, 26, "in_person", {}, Coding("90847", (), (), "11")),
        ("conjunctive", ALONE, 30, "in_person", {}, Coding("90832", (), (), "11")),
        ("conjunctive", ALONE, 45, "in_person", {"interactive": True}, Coding("90834", ("90785",), (), "11")),
        ("conjunctive", ALONE, 60, "in_person", {}, Coding("90837", (), (), "11")),
        ("conjunctive", PARTNER_ONLY, 60, "in_person", {}, Coding("90846", (), (), "11")),
        ("standard", ALONE, 60, "in_person", {}, Coding("90837", (), (), "11")),
        ("standard", BOTH, 60, "video", {}, Coding("90847", (), ("95",), "10")),
        ("standard", BOTH, 60, "video", {"patient_at_home": False}, Coding("90847", (), ("95",), "02")),
        (
            "conjunctive",
            ALONE,
            45,
            "video",
            {"interactive": True},
            Coding("90834", ("90785",), ("95",), "10"),
        ),
        ("follow_up_call", BOTH, 30, "phone", {}, Coding("90847", (), ("93",), "10")),
        ("consultation", BOTH, 20, "video", {}, None),
        ("standard", frozenset(), 60, "in_person", {}, None),
    ],
)
def test_cpt_follows_what_happened(kind, attendees, minutes, mode, flags, expected):
    assert code(kind, attendees, minutes, mode, **flags) == expected


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [(15, None), (16, "90832"), (37, "90832"), (38, "90834"), (52, "90834"), (53, "90837"), (90, "90837")],
)
def test_individual_psychotherapy_by_minutes(minutes, expected):
    assert individual_by_minutes(minutes) == expected


def test_icd_list_is_short_labels_of_our_own():
    assert {"F52.0", "F52.21", "F52.6", "Z63.0"} <= set(ICD10CM)
    for label in [*ICD10CM.values(), *CPT_LABELS.values()]:
        assert 0 < len(label) <= 40
    assert all(c[0].isalpha() and "." in c for c in ICD10CM)


def test_diagnoses_suggested_from_presenting_problems_in_list_order():
    assert suggested_diagnoses(["Z63.0", "", "f52.0", "N52.9"]) == ["F52.0", "Z63.0"]
    assert suggested_diagnoses([]) == []


def test_npi_check_digit():
    # The CMS example: 123456789 with check digit 3.
    assert npi_is_valid("1234567893")
    assert not npi_is_valid("1234567890")
    assert not npi_is_valid("123456789")
    assert not npi_is_valid("12345678931")
    assert not npi_is_valid("12345678a3")
    assert not npi_is_valid("3234567890")
    base = "298765432"
    assert npi_is_valid(base + luhn.calc_check_digit("80840" + base))
