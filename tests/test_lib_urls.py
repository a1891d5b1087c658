"""tandem.lib.urls: an address reversed once, an id formatted in per row, the same as reverse()."""

import pytest
from django.urls import reverse

from tandem.lib.urls import id_url


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
