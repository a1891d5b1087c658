"""The one place where PDFs get their fonts: DejaVu Sans, embedded, so every client's name prints.

reportlab's built-in Helvetica only knows Latin-1 (and draws a black box for Ł, Ирина, Αλέξανδρος or
Nguyễn). DejaVu Sans covers Latin, Greek, Cyrillic and Vietnamese and comes from Debian's
fonts-dejavu-core, which the Makefile installs. reportlab embeds only the glyphs a document uses.
"""

import functools
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from reportlab.lib.fonts import addMapping
from reportlab.lib.styles import StyleSheet1, getSampleStyleSheet
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

DEFAULT_FONT_DIR = "/usr/share/fonts/truetype/dejavu"
REGULAR, BOLD, ITALIC, BOLD_ITALIC = (
    "DejaVuSans",
    "DejaVuSans-Bold",
    "DejaVuSans-Oblique",
    "DejaVuSans-BoldOblique",
)
FILES = {
    REGULAR: "DejaVuSans.ttf",
    BOLD: "DejaVuSans-Bold.ttf",
    ITALIC: "DejaVuSans-Oblique.ttf",
    BOLD_ITALIC: "DejaVuSans-BoldOblique.ttf",
}
# A Table sets its cells' font itself (Helvetica unless told): every table's style starts with this.
TABLE_FONT = ("FONTNAME", (0, 0), (-1, -1), REGULAR)


def font_dir() -> Path:
    return Path(getattr(settings, "TANDEM_PDF_FONT_DIR", DEFAULT_FONT_DIR))


@functools.cache
def register_fonts() -> str:
    """Register DejaVu Sans and its bold and oblique faces with reportlab (once per process) and return
    the family name. A missing file fails here, by name, rather than as a PDF of black boxes."""
    folder = font_dir()
    missing = [name for name in FILES.values() if not (folder / name).is_file()]
    if missing:
        raise ImproperlyConfigured(
            f"PDF font files missing from {folder}: {', '.join(missing)}. Install Debian's "
            "fonts-dejavu-core (`make deps` does) or set TANDEM_PDF_FONT_DIR to a folder that has them."
        )
    for face, filename in FILES.items():
        pdfmetrics.registerFont(TTFont(face, str(folder / filename)))
    # So that <b> and <i> inside a Paragraph pick the matching DejaVu face, not Helvetica.
    pdfmetrics.registerFontFamily(REGULAR, normal=REGULAR, bold=BOLD, italic=ITALIC, boldItalic=BOLD_ITALIC)
    for bold, italic, face in ((0, 0, REGULAR), (1, 0, BOLD), (0, 1, ITALIC), (1, 1, BOLD_ITALIC)):
        addMapping(REGULAR, bold, italic, face)
    return REGULAR


def unicode_styles() -> StyleSheet1:
    """reportlab's sample stylesheet with every style set in DejaVu Sans (bold where it was bold)."""
    register_fonts()
    styles = getSampleStyleSheet()
    for style in styles.byName.values():
        name = getattr(style, "fontName", "")
        bold, italic = "Bold" in name, "Oblique" in name or "Italic" in name
        style.fontName = {(False, False): REGULAR, (True, False): BOLD, (False, True): ITALIC}.get(
            (bold, italic), BOLD_ITALIC
        )
    return styles
