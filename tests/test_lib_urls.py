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


def _id_patterns() -> list[tuple[str, tuple[str, ...]]]:
    """Every named address of the project whose arguments are all <int:...>, with their names."""
    from django.urls import URLPattern, URLResolver, get_resolver
    from django.urls.converters import IntConverter
    from django.urls.resolvers import RoutePattern

    found = []

    def walk(patterns, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                inner = f"{namespace}{p.namespace}:" if p.namespace else namespace
                converters = getattr(p.pattern, "converters", {})
                if not converters:  # an include() under a fixed prefix
                    walk(p.url_patterns, inner)
            elif isinstance(p, URLPattern) and p.name and isinstance(p.pattern, RoutePattern):
                converters = p.pattern.converters
                if all(isinstance(c, IntConverter) for c in converters.values()):
                    found.append((namespace + p.name, tuple(converters)))

    walk(get_resolver().url_patterns, "")
    return found


def test_every_id_address_of_the_project_reverses_as_django_does():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from tandem.lib.urls import reverse_ids

    patterns = _id_patterns()
    assert len(patterns) > 50 and any(len(kw) == 2 for _, kw in patterns)

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(patterns), st.lists(st.integers(min_value=0, max_value=2**63), min_size=2))
    def check(pattern, ids):
        name, keywords = pattern
        kwargs = dict(zip(keywords, ids, strict=False))
        assert reverse_ids(name, [], kwargs) == reverse(name, kwargs=kwargs)
        if len(keywords) == 1:
            assert reverse_ids(name, [ids[0]], {}) == reverse(name, args=[ids[0]])

    check()


def test_anything_but_an_id_is_left_to_reverse():
    from django.urls import NoReverseMatch

    from tandem.lib.urls import reverse_ids

    for wrong in (-1, True, "7", "1/../../admin", 7.0):
        try:
            expected = reverse("cases:detail", kwargs={"case_id": wrong})
        except NoReverseMatch:
            with pytest.raises(NoReverseMatch):
                reverse_ids("cases:detail", [], {"case_id": wrong})
        else:
            assert reverse_ids("cases:detail", [], {"case_id": wrong}) == expected
    assert reverse_ids("today", [], {}) == reverse("today")
    with pytest.raises(NoReverseMatch):
        reverse_ids("cases:detail", [], {"nope": 1})


def test_the_url_tag_of_every_template_is_the_remembering_one():
    # Parsed by Django's tag; `as`, escaping and a missing address behave as Django's do.
    from django.urls import NoReverseMatch

    template = Template(
        "{% url 'cases:detail' case_id=pk %}|{% url 'cases:detail' pk %}|"
        "{% url 'records:note' pk as note %}{{ note }}|"
        "{% url 'no:such' pk as gone %}[{{ gone }}]|{% url 'today' %}"
    )
    assert template.nodelist[0].__class__.__name__ == "RememberedURLNode"
    detail = reverse("cases:detail", args=[12])
    assert template.render(Context({"pk": 12})) == (
        f"{detail}|{detail}|{reverse('records:note', args=[12])}|[]|{reverse('today')}"
    )
    with pytest.raises(NoReverseMatch):
        Template("{% url 'no:such' 1 %}").render(Context())
    try:
        set_script_prefix("/clinic/")
        assert Template("{% url 'cases:detail' 3 %}").render(Context()) == "/clinic/cases/3/"
    finally:
        set_script_prefix("/")
