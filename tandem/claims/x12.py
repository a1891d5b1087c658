"""An ASC X12 837P (005010X222A1) professional claims batch, written segment by segment.

Pure: it takes the batch's header and its claims as plain values and returns the interchange text (one
segment a line). `export_claims` gathers the values; the tests run pyx12's validator over the result.

Layout: ISA/GS/ST; BHT; the submitter (1000A) and receiver (1000B); one billing provider (2000A, the
practice: NPI, address, EIN); per claim a subscriber loop (2000B, the identified patient is the
subscriber, relationship 18 "self") with the payer (2010BB), the claim (2300: CLM, HI diagnoses), the
rendering provider (2310B, the therapist's NPI) and one service line (2400: SV1, DTP 472).
"""

import datetime as dt
import unicodedata
from dataclasses import dataclass
from decimal import Decimal

SEGMENT, ELEMENT, COMPONENT, REPETITION = "~", "*", ":", "^"


@dataclass(frozen=True)
class Party:
    name: str
    first_name: str = ""
    npi: str = ""
    taxonomy: str = ""


@dataclass(frozen=True)
class Header:
    control_number: int
    created: dt.datetime
    submitter_id: str
    submitter_name: str
    contact_phone: str
    receiver_id: str
    receiver_name: str
    provider: Party
    provider_street: str
    provider_city: str
    provider_state: str
    provider_zip: str
    provider_ein: str
    usage: str = "T"  # T test, P production


@dataclass(frozen=True)
class Claim:
    patient_control: str
    amount: Decimal
    service_date: dt.date
    cpt: str
    modifiers: tuple[str, ...]
    add_ons: tuple[str, ...]
    place_of_service: str
    diagnoses: tuple[str, ...]
    subscriber_last: str
    subscriber_first: str
    member_id: str
    group_number: str
    birth_date: dt.date
    sex: str
    street: str
    city: str
    state: str
    postal_code: str
    payer_name: str
    payer_id: str
    rendering: Party | None


def clean(text: str, longest: int = 60) -> str:
    """Upper-case Latin letters, digits and plain punctuation only (X12's basic character set); accents
    are dropped (Łukasz -> LUKASZ) and delimiters removed."""
    folded = unicodedata.normalize("NFKD", text.replace("Ł", "L").replace("ł", "l"))
    ascii_only = folded.encode("ascii", "ignore").decode()
    kept = "".join(ch for ch in ascii_only.upper() if ch.isalnum() or ch in " .,-'&/()")
    return " ".join(kept.split())[:longest]


def _money(amount: Decimal) -> str:
    text = f"{amount:.2f}"
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def _seg(*elements: str) -> str:
    parts = list(elements)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return ELEMENT.join(parts) + SEGMENT


def _provider_loops(header: Header) -> list[str]:
    provider = header.provider
    lines = [_seg("HL", "1", "", "20", "1")]
    if provider.taxonomy:
        lines.append(_seg("PRV", "BI", "PXC", provider.taxonomy))
    lines += [
        _seg("NM1", "85", "2", clean(provider.name), "", "", "", "", "XX", provider.npi),
        _seg("N3", clean(header.provider_street, 55)),
        _seg("N4", clean(header.provider_city, 30), header.provider_state, header.provider_zip),
        _seg("REF", "EI", header.provider_ein),
    ]
    return lines


def _claim_loops(claim: Claim, hl: int) -> list[str]:
    lines = [
        _seg("HL", str(hl), "1", "22", "0"),
        _seg("SBR", "P", "18", claim.group_number, "", "", "", "", "", "CI"),
        _seg(
            "NM1",
            "IL",
            "1",
            clean(claim.subscriber_last),
            clean(claim.subscriber_first, 35),
            "",
            "",
            "",
            "MI",
            claim.member_id,
        ),
        _seg("N3", clean(claim.street, 55)),
        _seg("N4", clean(claim.city, 30), claim.state, claim.postal_code),
        _seg("DMG", "D8", f"{claim.birth_date:%Y%m%d}", claim.sex),
        _seg("NM1", "PR", "2", clean(claim.payer_name), "", "", "", "", "PI", claim.payer_id),
        _seg(
            "CLM",
            claim.patient_control,
            _money(claim.amount),
            "",
            "",
            COMPONENT.join((claim.place_of_service, "B", "1")),
            "Y",
            "A",
            "Y",
            "Y",
        ),
    ]
    codes = [code.replace(".", "") for code in claim.diagnoses]
    lines.append(
        _seg("HI", *(f"{'ABK' if i == 0 else 'ABF'}{COMPONENT}{code}" for i, code in enumerate(codes)))
    )
    if claim.rendering is not None and claim.rendering.npi:
        person = claim.rendering
        lines.append(
            _seg(
                "NM1",
                "82",
                "1",
                clean(person.name),
                clean(person.first_name, 35),
                "",
                "",
                "",
                "XX",
                person.npi,
            )
        )
        if person.taxonomy:
            lines.append(_seg("PRV", "PE", "PXC", person.taxonomy))
    procedure = COMPONENT.join(("HC", claim.cpt, *claim.modifiers))
    pointers = COMPONENT.join(str(i) for i in range(1, min(len(codes), 4) + 1))
    lines += [
        _seg("LX", "1"),
        _seg("SV1", procedure, _money(claim.amount), "UN", "1", "", "", pointers),
        _seg("DTP", "472", "D8", f"{claim.service_date:%Y%m%d}"),
    ]
    # The add-on (+90785) is its own line at no extra charge: the session's fee is on the main line.
    for n, code in enumerate(claim.add_ons, start=2):
        lines += [
            _seg("LX", str(n)),
            _seg("SV1", COMPONENT.join(("HC", code, *claim.modifiers)), "0", "UN", "1", "", "", pointers),
            _seg("DTP", "472", "D8", f"{claim.service_date:%Y%m%d}"),
        ]
    return lines


def build_837p(header: Header, claims: list[Claim]) -> str:
    """The interchange: one functional group, one transaction set holding every claim."""
    created = header.created
    control = f"{header.control_number:09d}"
    transaction = [
        _seg("ST", "837", "0001", "005010X222A1"),
        _seg("BHT", "0019", "00", control, f"{created:%Y%m%d}", f"{created:%H%M}", "CH"),
        _seg("NM1", "41", "2", clean(header.submitter_name), "", "", "", "", "46", header.submitter_id),
        _seg("PER", "IC", clean(header.submitter_name), "TE", header.contact_phone),
        _seg("NM1", "40", "2", clean(header.receiver_name), "", "", "", "", "46", header.receiver_id),
        *_provider_loops(header),
    ]
    for n, claim in enumerate(claims, start=2):
        transaction += _claim_loops(claim, n)
    transaction.append(_seg("SE", str(len(transaction) + 1), "0001"))
    isa = (
        ELEMENT.join(
            [
                "ISA",
                "00",
                " " * 10,
                "00",
                " " * 10,
                "ZZ",
                header.submitter_id.ljust(15)[:15],
                "ZZ",
                header.receiver_id.ljust(15)[:15],
                f"{created:%y%m%d}",
                f"{created:%H%M}",
                REPETITION,
                "00501",
                control,
                "0",
                header.usage,
                COMPONENT,
            ]
        )
        + SEGMENT
    )
    lines = [
        isa,
        _seg(
            "GS",
            "HC",
            header.submitter_id,
            header.receiver_id,
            f"{created:%Y%m%d}",
            f"{created:%H%M}",
            str(header.control_number),
            "X",
            "005010X222A1",
        ),
        *transaction,
        _seg("GE", "1", str(header.control_number)),
        _seg("IEA", "1", control),
    ]
    return "\n".join(lines) + "\n"
