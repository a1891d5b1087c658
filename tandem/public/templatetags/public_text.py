"""The clinic's page text as HTML: paragraphs, "## " headings and "- " lists, every word escaped."""

from django import template
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


def _blocks(text: str) -> list[list[str]]:
    blocks: list[list[str]] = [[]]
    for line in text.replace("\r\n", "\n").split("\n"):
        if line.strip():
            blocks[-1].append(line)
        elif blocks[-1]:
            blocks.append([])
    return [b for b in blocks if b]


def _render_block(lines: list[str]) -> list[str]:
    html: list[str] = []
    paragraph: list[str] = []
    items: list[str] = []

    def flush() -> None:
        if paragraph:
            html.append(f"<p>{escape(' '.join(paragraph))}</p>")
            paragraph.clear()
        if items:
            html.append("<ul>" + "".join(f"<li>{escape(item)}</li>" for item in items) + "</ul>")
            items.clear()

    for raw in lines:
        line = raw.strip()
        if line.startswith("## "):
            flush()
            html.append(f"<h2>{escape(line[3:].strip())}</h2>")
        elif line.startswith("- "):
            if paragraph:
                flush()
            items.append(line[2:].strip())
        elif items and raw[:1].isspace():
            items[-1] = f"{items[-1]} {line}"  # an indented line continues the list item above
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return html


@register.filter
def plain_text(text: str) -> SafeString:
    """Only the tags made here reach the page; whatever the text contains is escaped first."""
    parts: list[str] = []
    for block in _blocks(text or ""):
        parts.extend(_render_block(block))
    return mark_safe("\n".join(parts))  # noqa: S308 - every piece of text above went through escape()


@register.filter
def slot_value(slot: object) -> str:
    from tandem.public.forms import slot_value as value

    return value(slot.therapist_id, slot.starts_at)  # type: ignore[attr-defined]
