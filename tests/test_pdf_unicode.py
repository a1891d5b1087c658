"""Every PDF prints every name as written: Polish, Scandinavian, Cyrillic, Greek and Vietnamese letters come
back out of the record export and the referral letter, in an embedded Unicode font, with no black boxes."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from reportlab.pdfbase.ttfonts import TTFont

from tandem.accounts.models import User
from tandem.cases.models import Client
from tandem.consents.models import ConsentKind
from tandem.consents.record_pdf import case_export_pdf
from tandem.lib import pdf_fonts
from tandem.pathway.letters import referral_letter_pdf
from tandem.pathway.models import Referral, SpecialistType
from tandem.pathway.services import referral_create
from tandem.practice.models import Practice
from tests.cast import Cast
from tests.consents_support import signed
from tests.pdf_support import pdf_fonts as fonts_of
from tests.pdf_support import pdf_text

# Synthetic people whose names need more than Latin-1.
PARTNER_A = ("Łucja", "Øberg-Ångström")
PARTNER_B = ("Zoë", "Nguyễn")
THERAPIST = ("Ирина", "Соколова")
COTHERAPIST = ("Αλέξανδρος", "Παπαδάκης")
NAMES = ["Łucja Øberg-Ångström", "Zoë Nguyễn", "Ирина Соколова", "Αλέξανδρος Παπαδάκης"]
# What a viewer shows for a character the font cannot draw, or a decoder for a byte it cannot map.
NO_GLYPH = ("■", "\ufffd", "\x00")


def _rename(person: User | Client, names: tuple[str, str]) -> None:
    person.first_name, person.last_name = names
    person.save()


@pytest.fixture
def named(cast: Cast) -> Cast:
    case = cast.couple_case
    _rename(case.partner_a, PARTNER_A)
    _rename(case.partner_b, PARTNER_B)  # type: ignore[arg-type]
    _rename(cast.therapist_a, THERAPIST)
    _rename(cast.cotherapist, COTHERAPIST)
    Practice.objects.filter(pk=cast.room.location.practice_id).update(name="Praktijk Ærø & Šťastný")
    return cast


def _referral(cast: Cast, client: Client, actor: User) -> Referral:
    return referral_create(
        actor=actor,
        case=cast.couple_case,
        client=client,
        specialist_type=SpecialistType.objects.filter(active=True).order_by("pk").first(),  # type: ignore[arg-type]
        reason=f"Synthetic reason for {client.first_name}: rule out a physical cause.",
    )


def _assert_prints(data: bytes, expected: list[str]) -> None:
    text = pdf_text(data)
    for name in expected:
        assert name in text, f"{name!r} is not in the PDF's text:\n{text}"
    for mark in NO_GLYPH:
        assert mark not in text
    # Only the embedded DejaVu faces: a standard font (Helvetica) would mean a Latin-1-only text run.
    fonts = fonts_of(data)
    assert fonts and all(embedded and "DejaVuSans" in name for name, embedded in fonts), fonts


def test_every_name_is_a_glyph_of_the_font():
    """The font itself draws every letter of the names (not its .notdef box)."""
    pdf_fonts.register_fonts()
    face = TTFont("check", str(pdf_fonts.font_dir() / pdf_fonts.FILES[pdf_fonts.REGULAR])).face
    missing = {ch for name in NAMES for ch in name if ch != " " and ord(ch) not in face.charToGlyph}
    assert missing == set()


def test_record_export_prints_every_name(named: Cast):
    case = named.couple_case
    signed(case, case.partner_a, ConsentKind.TREATMENT, staff=named.therapist_a)
    _referral(named, case.partner_b, named.cotherapist)  # type: ignore[arg-type]
    data = case_export_pdf(actor=named.therapist_a, case=case)
    _assert_prints(data, NAMES)


def test_referral_letters_print_every_name(named: Cast):
    case = named.couple_case
    practice = Practice.objects.get()
    first = _referral(named, case.partner_a, named.therapist_a)
    second = _referral(named, case.partner_b, named.cotherapist)  # type: ignore[arg-type]
    _assert_prints(
        referral_letter_pdf(first, practice=practice),
        ["Referral: Łucja Øberg-Ångström", "Ирина Соколова", "Praktijk Ærø & Šťastný"],
    )
    _assert_prints(
        referral_letter_pdf(second, practice=practice),
        ["Referral: Zoë Nguyễn", "Αλέξανδρος Παπαδάκης", f"{timezone.localdate():%Y}"],
    )


def test_a_missing_font_fails_by_name(settings, tmp_path):
    settings.TANDEM_PDF_FONT_DIR = str(tmp_path)
    pdf_fonts.register_fonts.cache_clear()
    try:
        with pytest.raises(ImproperlyConfigured, match=r"DejaVuSans\.ttf.*fonts-dejavu-core"):
            pdf_fonts.register_fonts()
    finally:
        settings.TANDEM_PDF_FONT_DIR = pdf_fonts.DEFAULT_FONT_DIR
        pdf_fonts.register_fonts.cache_clear()
