"""The edit-form round trip reads forms as a browser does (`tests/htmlforms.py`); here chromium itself
confirms that reading for the values that matter: what an input keeps of a rendered value, and what a
form submits unchanged."""

from urllib.parse import parse_qsl

import pytest

from tests.htmlforms import parse_forms, sanitize

pytestmark = pytest.mark.browser

CASES = [
    ("date", "1965-11-16"),
    ("date", "16/11/1965"),  # en-GB's localized date: the bug this suite guards against
    ("date", "1965-02-30"),
    ("date", "33-01-01"),
    ("time", "07:45"),
    ("time", "07:45:30"),
    ("time", "7.45"),
    ("datetime-local", "2026-11-16T07:45"),
    ("datetime-local", "16/11/2026 07:45"),
    ("number", "12.5"),
    ("number", "12,5"),
    ("number", "1,234"),
    ("number", "-3e2"),
    ("email", " someone@client.tandem.invalid "),
    ("text", "two\nlines"),
]

FORM = """<form method="post" action="/">
  <input type="checkbox" name="ticked" value="1" checked><input type="checkbox" name="unticked" value="1">
  <input type="radio" name="mode" value="a"><input type="radio" name="mode" value="b" checked>
  <select name="one"><option value="x">X</option><option value="y" selected>Y</option></select>
  <select name="first"><option value="p">P</option><option value="q">Q</option></select>
  <select name="many" multiple>
    <option value="1" selected>1</option><option selected>two  words</option>
  </select>
  <textarea name="text">
Kept &amp; escaped</textarea>
  <input type="date" name="born" value="16/11/1965"><input name="plain" value="a &quot;b&quot;">
  <input type="text" name="off" value="no" disabled>
  <button type="submit" name="save" value="yes">Save</button>
  <button type="submit" name="sign" value="1">Sign</button>
</form>"""


def test_chromium_keeps_what_the_reader_says_it_keeps(desktop):
    html = "".join(f'<input type="{kind}" value="{value}">' for kind, value in CASES)
    desktop.set_content(html)
    kept = desktop.eval_on_selector_all("input", "inputs => inputs.map(i => i.value)")
    assert kept == [sanitize(kind, value) for kind, value in CASES]


def test_chromium_submits_what_the_reader_says_it_submits(desktop):
    desktop.set_content(FORM)
    # The entry list chromium builds for the first submit button, as the encoded body it would send.
    body = desktop.evaluate(
        """() => {
            const form = document.querySelector('form');
            const data = new FormData(form, form.querySelector('button'));
            return new URLSearchParams(data).toString();
        }"""
    )
    (form,) = parse_forms(FORM)
    assert parse_qsl(body, keep_blank_values=True) == form.entries()
