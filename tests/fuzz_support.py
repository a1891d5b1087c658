"""Bad input for the fuzz test: what to send (Hypothesis strategies) and where (fields read from pages).

Values are bytes, percent-encoded by hand, so that input a browser would never send still arrives:
invalid UTF-8 and lone surrogates, NUL, numbers beyond any database column, the ends of the calendar.
Field names come from the application itself: the forms its pages render (per role, with the options
of their selects) and the fields of its form classes, so a new form is fuzzed without a hand list.
"""

import importlib
import inspect
import json
import pkgutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, quote_from_bytes, urlsplit

from django import forms as django_forms
from django.test import Client as HttpClient
from django.urls import Resolver404, resolve
from hypothesis import strategies as st

import tandem

# Values that broke, or could break, a parser or a column somewhere: calendar ends, numbers past
# SmallInteger/Integer/BigInteger/float range, signs, blanks, NUL, lone surrogates (as CESU bytes,
# which are invalid UTF-8), long text, markup and near-valid formats.
EDGE_VALUES: tuple[bytes, ...] = (
    b"",
    b" ",
    b"0",
    b"-1",
    b"1",
    b"32767",
    b"32768",
    b"65536",
    b"2147483647",
    b"2147483648",
    b"-2147483649",
    b"9223372036854775807",
    b"9223372036854775808",
    b"99999999999999999999999999999999",
    b"1e309",
    b"-1e309",
    b"nan",
    b"inf",
    b"1.5",
    b"0x10",
    b"0001-01-01",
    b"9999-12-31",
    b"0000-00-00",
    b"2026-02-30",
    b"10000-01-01",
    b"0001-01-01T00:00",
    b"9999-12-31T23:59",
    b"9999-12-31T23:59:59+00:00",
    b"0001-01-01T00:00:00-14:00",
    b"9999-12-31 23:59:59",
    b"24:00",
    b"23:59:60",
    b"-00:01",
    "\u00b2".encode(),
    "\u0663\u0664".encode(),
    b"\x00",
    b"a\x00b",
    b"\xed\xa0\x80",
    b"\xff\xfe",
    "Łucja Øberg-Ångström 🙂".encode(),
    "\u202e\u200b\ufeff".encode(),
    b"<script>alert(1)</script>",
    b"' OR 1=1 --",
    b"../../etc/passwd",
    b"x" * 5000,
    "\U0001f642".encode() * 2000,
    b"true",
    b"null",
    b"[]",
    b"{}",
)


# The sweep sends each of these in every field of every form and query, once per URL.
SWEEP_VALUES: tuple[bytes, ...] = (
    b"9999-12-31",
    b"0001-01-01",
    b"99999999999999999999999999999999",
    b"32768",
    b"2147483648",
    b"-1",
    b"1e309",
    b"a\x00b",
    b"\xed\xa0\x80",
    "\u00b2\u0663".encode(),
    b"x" * 5000,
)


# Which inputs each sweep value goes into; the others get a plain valid value, so that the form gets
# past its other fields to the one under test.
_SWEEP_KINDS = {b"9999-12-31": "date", b"0001-01-01": "date", b"1e309": "number", b"-1": "number"}
_PLAIN = {"date": b"2027-06-01", "number": b"1", "email": b"quinn@example.invalid", "time": b"10:00"}


def edge_values() -> st.SearchStrategy[bytes]:
    """One form or query value: an edge case, generated text or bytes, a number, a date."""
    return st.one_of(
        st.sampled_from(EDGE_VALUES),
        st.sampled_from(EDGE_VALUES),
        st.text(max_size=40).map(lambda text: text.encode("utf-8", "surrogatepass")),
        st.binary(max_size=12),
        st.integers().map(lambda number: str(number).encode()),
        st.dates().map(lambda day: day.isoformat().encode()),
        st.datetimes().map(lambda moment: moment.isoformat().encode()),
    )


def encode(pairs: list[tuple[str, bytes]]) -> str:
    """application/x-www-form-urlencoded of raw bytes (a query string or a form body)."""
    return "&".join(f"{quote_from_bytes(name.encode())}={quote_from_bytes(value)}" for name, value in pairs)


def fuzzed_pairs(
    data: st.DataObject, names: set[str], options: dict[str, list[str]], pool: list[str]
) -> list[tuple[str, bytes]]:
    """Each known field missing, kept valid, fuzzed or repeated (a list where a scalar is expected);
    plus a few names from elsewhere in the application."""
    pairs: list[tuple[str, bytes]] = []
    for name in sorted(names):
        how = data.draw(st.sampled_from(("missing", "valid", "fuzz", "fuzz", "list")), label=name)
        if how == "missing":
            continue
        if how == "valid" and options.get(name):
            pairs.append((name, data.draw(st.sampled_from(options[name])).encode()))
            continue
        for _ in range(3 if how == "list" else 1):
            pairs.append((name, data.draw(edge_values())))
    if pool:
        for name in data.draw(st.lists(st.sampled_from(pool), max_size=2, unique=True), label="extra"):
            pairs.append((name, data.draw(edge_values())))
    return pairs


# --- JSON ------------------------------------------------------------------------------------------

_json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=30),
    st.sampled_from([value.decode("utf-8", "replace") for value in EDGE_VALUES]),
)
json_values = st.recursive(
    _json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)


def json_body(data: st.DataObject, keys: list[str], valid: dict[str, Any]) -> bytes:
    """A JSON request body: usually an object with the API's keys, valid or fuzzed; sometimes not an
    object, not JSON or not UTF-8 at all."""
    shape = data.draw(st.sampled_from(("object", "object", "object", "other", "broken")), label="shape")
    if shape == "broken":
        return data.draw(
            st.sampled_from([b"{", b"\xff\xfe{}", b'{"case": NaN}', b"", b"[1,", b'{"a":1e999}'])
        )
    if shape == "other":
        return json.dumps(data.draw(json_values)).encode()
    body: dict[str, Any] = {}
    for key in keys:
        how = data.draw(st.sampled_from(("missing", "valid", "fuzz")), label=key)
        if how == "valid" and key in valid:
            body[key] = valid[key]
        elif how != "missing":
            body[key] = data.draw(json_values)
    # ensure_ascii keeps lone surrogates as \ud800 escapes, which a JSON parser accepts.
    return json.dumps(body, ensure_ascii=True).encode()


# --- what the pages render -------------------------------------------------------------------------


@dataclass
class FormShape:
    """The fields one form sends to one URL, with the values its selects, radios and hidden inputs offer."""

    names: set[str] = field(default_factory=set)
    options: dict[str, list[str]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # the input's type: date, number, text...

    def add(self, name: str, value: str | None) -> None:
        self.names.add(name)
        if value is not None and value not in self.options.setdefault(name, []):
            self.options[name].append(value)


class _PageParser(HTMLParser):
    """Collects every form (method, action, fields) and the query names of every link on a page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[tuple[str, str, FormShape]] = []
        self.query_names: set[str] = set()
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "form":
            self.forms.append(
                ((found.get("method") or "get").lower(), found.get("action") or "", FormShape())
            )
        elif tag == "a" and "?" in (found.get("href") or ""):
            self.query_names |= {name for name, _ in parse_qsl(urlsplit(found["href"] or "").query)}
        elif tag in ("input", "select", "textarea", "button") and found.get("name") and self.forms:
            name = found["name"] or ""
            value = found.get("value") if tag in ("input", "button") else None
            self.forms[-1][2].add(name, value)
            self.forms[-1][2].kinds.setdefault(name, found.get("type") or tag)
            if tag == "select":
                self._select = name
        elif tag == "option" and self._select and self.forms:
            self.forms[-1][2].add(self._select, found.get("value"))

    def handle_endtag(self, tag: str) -> None:
        if tag == "select":
            self._select = None


@dataclass
class Survey:
    """Per URL name: the fields its POST forms send and the query names its GET forms and links use."""

    posts: dict[str, FormShape] = field(default_factory=dict)
    queries: dict[str, FormShape] = field(default_factory=dict)
    # The first role that saw the page, or a form posting to the URL: who the sweep sends as.
    seen_by: dict[str, str | None] = field(default_factory=dict)
    requests: int = 0

    def read(self, page_url: str, page_name: str, html: str, role: str | None) -> None:
        parser = _PageParser()
        parser.feed(html)
        for method, action, shape in parser.forms:
            target = _url_name(action or page_url)
            if target is None:
                continue
            if method == "post":
                self.seen_by.setdefault(f"POST {target}", role)
            kept = (self.posts if method == "post" else self.queries).setdefault(target, FormShape())
            kept.names |= shape.names
            kept.kinds.update(shape.kinds)
            for name, values in shape.options.items():
                for value in values:
                    kept.add(name, value)
        self.queries.setdefault(page_name, FormShape()).names.update(parser.query_names)

    def visit(self, http: HttpClient, url: str, name: str, role: str | None) -> None:
        response = http.get(url)
        self.requests += 1
        if response.status_code == 200:
            self.seen_by.setdefault(f"GET {name}", role)
            if "html" in response.get("Content-Type", ""):
                self.read(url, name, response.content.decode(), role)


def _url_name(url: str) -> str | None:
    try:
        match = resolve(urlsplit(url).path)
    except Resolver404:
        return None
    return match.view_name


def form_class_fields() -> list[str]:
    """The field names of every Django form class the application defines (the fuzz pool of names)."""
    names: set[str] = set()
    for module_info in pkgutil.walk_packages(tandem.__path__, "tandem."):
        # forms.py, calendar_forms.py, and the views modules that define their own small forms.
        if not module_info.name.endswith(("forms", "views")):
            continue
        module = importlib.import_module(module_info.name)
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, django_forms.BaseForm) and cls.__module__ == module.__name__:
                names.update(list(getattr(cls, "base_fields", {})))
    return sorted(names)


def sweep_pairs(shape: FormShape, value: bytes) -> list[tuple[str, bytes]]:
    """One sweep request: `value` in every input of its kind (numbers also in text inputs), a valid
    option in every choice, a plain valid value elsewhere."""
    kind = _SWEEP_KINDS.get(value, "number" if value.isdigit() else "text")
    pairs = []
    for name in sorted(shape.names):
        input_type = shape.kinds.get(name, "text")
        choices = [option for option in shape.options.get(name, []) if option]
        if input_type in ("select", "radio", "checkbox", "hidden", "submit", "button") and choices:
            pairs.append((name, choices[-1].encode()))
        elif input_type == kind or input_type in ("text", "textarea", "search"):
            pairs.append((name, value))
        elif choices:  # the value the page shows (an initial such as a solver time of 30 s)
            pairs.append((name, choices[-1].encode()))
        else:
            pairs.append((name, _PLAIN.get(input_type, b"Synthetic text")))
    return pairs
