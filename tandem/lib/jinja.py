"""The Jinja2 environment for the few fragments that print a thousand rows (the practice's calendar week).

Django's template engine costs about a tenth of a millisecond per printed entry, which made a large
practice's week spend 250 ms rendering; Jinja2 compiles a template to Python and prints the same markup
in a tenth of that. Everything else stays in Django templates. Autoescaping is on, as in Django, and an
unknown name is an error rather than an empty string, so that a typo fails the tests instead of a page.
"""

from typing import Any

from jinja2 import Environment, StrictUndefined


def environment(**options: Any) -> Environment:
    options["undefined"] = StrictUndefined
    options["autoescape"] = True
    return Environment(**options)  # noqa: S701 -- autoescape is set on the line above
