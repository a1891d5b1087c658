"""tandem.lib.urls: an address reversed once, an id formatted in per row, the same as reverse()."""

import pytest
from django.template import Context, Template
from django.urls import reverse, set_script_prefix

from tandem.lib.urls import id_url, link_to


@pytest.mark.parametrize(
    ("name", "kwarg"), [("cases:detail", "case_id"), ("scheduling:attendance", "appointment_id")]
)
def test_id_url_gives_what_reverse_gives(name, kwarg):
    url = id_url(name, kwarg)
    for pk in (1, 7, 10, 987654, 2**40):
        assert url(pk) == reverse(name, kwargs={kwarg: pk})


def test_id_url_formats_integers_only():
    url = id_url("cases:detail", "case_id")
    with pytest.raises(ValueError, match="invalid literal"):
        url("1/../../admin")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["cases:detail", "records:note", "measures:case", "homework:case"])
def test_the_link_filter_gives_what_reverse_gives(name):
    template = Template("{% load links %}{{ pk|link:name }}")
    for pk in (1, 42, 2**40):
        assert template.render(Context({"pk": pk, "name": name})) == reverse(name, args=[pk])


def test_the_link_filter_follows_the_script_prefix():
    # Behind a path prefix (SCRIPT_NAME) reverse() puts it in front; so does the cached pattern.
    try:
        set_script_prefix("/clinic/")
        assert link_to("cases:detail", 5) == reverse("cases:detail", args=[5])
        assert link_to("cases:detail", 5).startswith("/clinic/")
    finally:
        set_script_prefix("/")
    assert link_to("cases:detail", 5) == reverse("cases:detail", args=[5])
