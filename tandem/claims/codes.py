"""The codes of insurance paperwork, as pure functions: diagnoses, the CPT code of a session, the NPI.

Labels here are short ones of our own, never the AMA's CPT descriptions or the full ICD-10-CM titles.

CPT (what the practice bills for a session, derived from what happened, never typed in):
- an assessment (joint or individual) is 90791;
- a couple session (standard, intensive, follow-up visit or call) with the identified patient present is
  90847, without the identified patient (the partner alone) 90846; both need at least 26 minutes;
- a session with the identified patient alone (a conjunctive session, or an individual case) is
  individual psychotherapy by minutes: 16-37 is 90832, 38-52 is 90834, 53 and more 90837 (under 16 minutes
  is not billed);
- +90785 (interactive complexity) where the session is marked so, added only to the codes it may go with
  (90791, 90832, 90834, 90837; never to the family codes);
- video: modifier 95 and place of service 10 (the patient at home) or 02 (elsewhere); phone: modifier 93
  (audio only) and the same places; in person: place of service 11 (office).
"""

from collections.abc import Iterable
from dataclasses import dataclass

from stdnum import luhn

# ICD-10-CM codes a couples and sex therapy practice bills, with our own short labels.
ICD10CM: dict[str, str] = {
    "F52.0": "Low sexual desire",
    "F52.1": "Sexual aversion",
    "F52.21": "Erectile difficulty (non-organic)",
    "F52.22": "Sexual arousal difficulty",
    "F52.31": "Orgasm difficulty (female)",
    "F52.32": "Delayed ejaculation",
    "F52.4": "Early ejaculation",
    "F52.5": "Vaginismus (non-organic)",
    "F52.6": "Pain with sex (non-organic)",
    "F52.8": "Other sexual difficulty",
    "F52.9": "Sexual difficulty, unspecified",
    "F43.20": "Adjustment difficulty, unspecified",
    "F43.23": "Adjustment with anxiety and low mood",
    "F41.1": "Generalised anxiety",
    "F32.A": "Depression, unspecified",
    "Z63.0": "Relationship distress with partner",
    "Z70.8": "Other sex counselling",
}

CPT_LABELS: dict[str, str] = {
    "90791": "Diagnostic evaluation",
    "90832": "Individual therapy, about 30 min",
    "90834": "Individual therapy, about 45 min",
    "90837": "Individual therapy, about 60 min",
    "90846": "Family/couple therapy, patient absent",
    "90847": "Family/couple therapy, patient present",
    "90785": "Interactive complexity (add-on)",
}

ASSESSMENT_KINDS = frozenset({"joint_assessment", "individual_assessment"})
COUPLE_KINDS = frozenset({"standard", "intensive", "follow_up_visit", "follow_up_call"})
INDIVIDUAL_KINDS = frozenset({"conjunctive"})
INTERACTIVE_ADDS_TO = frozenset({"90791", "90832", "90834", "90837"})
FAMILY_MINIMUM = 26
OFFICE, TELEHEALTH_HOME, TELEHEALTH_ELSEWHERE = "11", "10", "02"


def icd_label(code: str) -> str:
    return ICD10CM.get(code, "")


def suggested_diagnoses(presenting_codes: Iterable[str]) -> list[str]:
    """The shipped codes among a case's presenting problems' ICD-10-CM codes, in the list's order."""
    wanted = {c.strip().upper() for c in presenting_codes if c}
    return [code for code in ICD10CM if code.upper() in wanted]


def npi_is_valid(npi: str) -> bool:
    """A National Provider Identifier: ten digits whose last is the Luhn check digit of the first nine
    prefixed by 80840 (the US health industry number)."""
    return len(npi) == 10 and npi.isdigit() and npi[0] in "12" and luhn.is_valid("80840" + npi)


@dataclass(frozen=True)
class Session:
    """What happened, as the CPT rules need it."""

    kind: str
    mode: str  # in_person, video, phone
    minutes: int
    attendee_ids: frozenset[int]
    identified_patient_id: int
    interactive: bool = False
    patient_at_home: bool = True


@dataclass(frozen=True)
class Coding:
    cpt: str
    add_ons: tuple[str, ...]
    modifiers: tuple[str, ...]
    place_of_service: str

    @property
    def codes(self) -> tuple[str, ...]:
        return (self.cpt, *self.add_ons)


def individual_by_minutes(minutes: int) -> str | None:
    if minutes >= 53:
        return "90837"
    if minutes >= 38:
        return "90834"
    if minutes >= 16:
        return "90832"
    return None


def _primary(session: Session) -> str | None:
    if session.kind in ASSESSMENT_KINDS:
        return "90791"
    patient_present = session.identified_patient_id in session.attendee_ids
    others_present = bool(session.attendee_ids - {session.identified_patient_id})
    if session.kind not in COUPLE_KINDS | INDIVIDUAL_KINDS or not session.attendee_ids:
        return None
    if patient_present and not others_present:
        return individual_by_minutes(session.minutes)
    if session.minutes < FAMILY_MINIMUM:
        return None
    return "90847" if patient_present else "90846"


def cpt_for(session: Session) -> Coding | None:
    """The coding of an attended session, or None when it is not billable to an insurer (the free
    consultation, too short, nobody recorded as attending)."""
    cpt = _primary(session)
    if cpt is None:
        return None
    add_ons = ("90785",) if session.interactive and cpt in INTERACTIVE_ADDS_TO else ()
    if session.mode == "in_person":
        return Coding(cpt, add_ons, (), OFFICE)
    place = TELEHEALTH_HOME if session.patient_at_home else TELEHEALTH_ELSEWHERE
    modifier = "95" if session.mode == "video" else "93"
    return Coding(cpt, add_ons, (modifier,), place)
