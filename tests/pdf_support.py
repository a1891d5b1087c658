"""Reading back the PDFs Tandem writes: their text as a reader's PDF viewer extracts it, and their fonts."""

from io import BytesIO

from pypdf import PdfReader


def pdf_text(data: bytes) -> str:
    """The text of every page, extracted by pypdf through each font's ToUnicode map, as a copy-paste
    from a PDF viewer would give it."""
    reader = PdfReader(BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def pdf_fonts(data: bytes) -> set[tuple[str, bool]]:
    """(base font name, embedded?) of every font the pages use."""
    reader = PdfReader(BytesIO(data))
    found = set()
    for page in reader.pages:
        resources = page.get("/Resources")
        fonts = resources.get_object().get("/Font", {}) if resources is not None else {}
        for ref in fonts.get_object().values():
            font = ref.get_object()
            descriptor = font.get("/FontDescriptor")
            embedded = descriptor is not None and any(
                key in descriptor.get_object() for key in ("/FontFile", "/FontFile2", "/FontFile3")
            )
            found.add((str(font["/BaseFont"]), embedded))
    return found
