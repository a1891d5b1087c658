"""Read the `<form>`s of a page and build what a browser would submit from each, untouched.

Follows the HTML standard's "constructing the entry list" for the controls Tandem renders: inputs
(with the value sanitization of date, time, datetime-local, number and e-mail inputs, which silently
empties a value the input refuses), checkboxes and radios only when checked, selects with their
selected options (or the first option of a single select), textareas (without the one newline that
follows the start tag), and the first submit button as the submitter. Controls associated with a form
through a `form="id"` attribute count for that form.
"""

import datetime as dt
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

_DATE = re.compile(r"^(\d{4,})-(\d\d)-(\d\d)$")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d(:[0-5]\d(\.\d{1,3})?)?$")
_NUMBER = re.compile(r"^-?(\d+(\.\d+)?|\.\d+)([eE][-+]?\d+)?$")
_SKIPPED_TYPES = {"submit", "image", "button", "reset", "file"}
# The control types this reader submits as a browser does; an edit form with any other type fails the
# round trip loudly (teach this module the new type) rather than being submitted wrongly.
KNOWN_TYPES = {
    *("text", "search", "tel", "password", "hidden", "email", "url"),
    *("date", "time", "datetime-local", "number", "checkbox", "radio"),
    *("submit", "button", "reset", "select", "textarea"),
}


def _valid_date(value: str) -> bool:
    match = _DATE.match(value)
    if match is None:
        return False
    try:
        dt.date(int(match[1]), int(match[2]), int(match[3]))
    except ValueError:
        return False
    return True


def _valid_datetime_local(value: str) -> bool:
    day, sep, time = value.replace(" ", "T").partition("T")
    return bool(sep) and _valid_date(day) and bool(_TIME.match(time))


def sanitize(input_type: str, value: str) -> str:
    """The value a browser keeps for an input of this type (HTML's value sanitization algorithm)."""
    if input_type == "date":
        return value if _valid_date(value) else ""
    if input_type == "time":
        return value if _TIME.match(value) else ""
    if input_type == "datetime-local":
        return value.replace(" ", "T") if _valid_datetime_local(value) else ""
    if input_type == "number":
        return value if _NUMBER.match(value) else ""
    if input_type in {"text", "search", "tel", "password", "hidden", "email", "url"}:
        stripped = value.replace("\r", "").replace("\n", "")
        return stripped.strip() if input_type in {"email", "url"} else stripped
    return value


@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    options: list[dict[str, str]] = field(default_factory=list)

    @property
    def type(self) -> str:
        if self.tag == "input":
            return self.attrs.get("type", "text").lower()
        if self.tag == "button":
            return self.attrs.get("type", "submit").lower()
        return self.tag

    @property
    def name(self) -> str:
        return self.attrs.get("name", "")


@dataclass
class HtmlForm:
    attrs: dict[str, str]
    controls: list[Control] = field(default_factory=list)

    @property
    def method(self) -> str:
        return self.attrs.get("method", "get").lower()

    @property
    def action(self) -> str:
        return self.attrs.get("action", "")

    def unknown_controls(self) -> list[str]:
        return [f"{c.name or '(no name)'} ({c.type})" for c in self.controls if c.type not in KNOWN_TYPES]

    def names(self) -> set[str]:
        return {c.name for c in self.controls if c.name}

    def shows_state(self) -> bool:
        """Whether the form shows current values: a ticked box or radio, a chosen option, written text."""
        return any(_shows_value(control) for control in self.controls)

    def refused_values(self) -> list[tuple[str, str, str]]:
        """(name, type, value) of each input whose rendered value the browser would throw away."""
        refused = []
        for control in self.controls:
            value = control.attrs.get("value")
            if control.tag == "input" and value and sanitize(control.type, value) != value.strip():
                refused.append((control.name, control.type, value))
        return refused

    def entries(self, *, hidden: bool = True) -> list[tuple[str, str]]:
        """The (name, value) pairs a browser submits when the form is sent unchanged (without the hidden
        inputs when `hidden` is false: tokens and keys that each rendering makes anew)."""
        pairs: list[tuple[str, str]] = []
        submitter_done = False
        for control in self.controls:
            if not hidden and control.type == "hidden":
                continue
            if not control.name or "disabled" in control.attrs:
                if control.type == "submit" and control.tag in {"input", "button"}:
                    submitter_done = submitter_done or "disabled" not in control.attrs
                continue
            kind = control.type
            if kind == "submit" and control.tag in {"input", "button"}:
                if not submitter_done:
                    pairs.append((control.name, control.attrs.get("value", "")))
                    submitter_done = True
                continue
            if kind in _SKIPPED_TYPES:
                continue
            if kind in {"checkbox", "radio"}:
                if "checked" in control.attrs:
                    pairs.append((control.name, control.attrs.get("value", "on")))
            elif control.tag == "select":
                pairs.extend((control.name, value) for value in _selected(control))
            elif control.tag == "textarea":
                pairs.append((control.name, control.text.removeprefix("\n")))
            else:
                pairs.append((control.name, sanitize(kind, control.attrs.get("value", ""))))
        return pairs


def _shows_value(control: Control) -> bool:
    kind = control.type
    if kind in {"checkbox", "radio"}:
        return "checked" in control.attrs
    if control.tag == "select":
        return any("selected" in option for option in control.options)
    if control.tag == "textarea":
        return bool(control.text.strip())
    if control.tag == "input" and kind not in _SKIPPED_TYPES | {"hidden"}:
        return bool(control.attrs.get("value", "").strip())
    return False


def _selected(select: Control) -> list[str]:
    options = [o for o in select.options if "disabled" not in o]
    chosen = [o for o in options if "selected" in o]
    if not chosen and "multiple" not in select.attrs and options:
        chosen = options[:1]
    if "multiple" not in select.attrs:
        chosen = chosen[-1:]
    return [o["value"] for o in chosen]


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[HtmlForm] = []
        self.by_id: dict[str, HtmlForm] = {}
        self.orphans: list[Control] = []
        self.current: HtmlForm | None = None
        self.open_control: Control | None = None
        self.open_option: dict[str, str] | None = None

    def _attach(self, control: Control) -> None:
        if "form" in control.attrs:
            self.orphans.append(control)
        elif self.current is not None:
            self.current.controls.append(control)

    def handle_starttag(self, tag: str, raw: list[tuple[str, str | None]]) -> None:
        attrs = {key: value or "" for key, value in raw}
        if tag == "form":
            self.current = HtmlForm(attrs)
            self.forms.append(self.current)
            if "id" in attrs:
                self.by_id[attrs["id"]] = self.current
        elif tag in {"input", "button"}:
            self._attach(Control(tag, attrs))
        elif tag in {"select", "textarea"}:
            self.open_control = Control(tag, attrs)
            self._attach(self.open_control)
        elif tag == "option" and self.open_control is not None:
            self.open_option = {**attrs, "_text": ""}
            self.open_control.options.append(self.open_option)

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.current = None
        elif tag in {"select", "textarea"}:
            self.open_control = None
            self.open_option = None
        elif tag == "option":
            self._close_option()

    def _close_option(self) -> None:
        if self.open_option is not None:
            # An option without a value attribute submits its text, whitespace collapsed.
            self.open_option.setdefault("value", " ".join(self.open_option["_text"].split()))
            self.open_option = None

    def handle_data(self, data: str) -> None:
        if self.open_option is not None:
            self.open_option["_text"] += data
        elif self.open_control is not None and self.open_control.tag == "textarea":
            self.open_control.text += data

    def close(self) -> None:
        super().close()
        for control in self.orphans:
            owner = self.by_id.get(control.attrs["form"])
            if owner is not None:
                owner.controls.append(control)


def parse_forms(html: str) -> list[HtmlForm]:
    """Every `<form>` of the page, with its controls in document order."""
    parser = _FormParser()
    parser.feed(html)
    parser.close()
    for form in parser.forms:
        for control in form.controls:
            for option in control.options:
                option.setdefault("value", " ".join(option["_text"].split()))
    return parser.forms
