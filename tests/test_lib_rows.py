"""tandem.lib.rows.by_pk: one row by its key, without an ORDER BY, within what the queryset allows."""

from django.db import connection
from django.test.utils import CaptureQueriesContext

from tandem.access.services import staff_cases_visible_to
from tandem.cases.models import Case
from tandem.lib.rows import by_pk


def test_the_row_with_that_key(cast):
    found = by_pk(Case.objects.with_people(), cast.couple_case.pk)
    assert found == cast.couple_case
    assert found.partner_a.first_name == "Alex"


def test_none_for_a_key_that_is_not_there(cast):
    assert by_pk(Case.objects.all(), 10**9) is None


def test_none_for_a_row_outside_the_queryset(cast):
    # The other therapist's scope does not hold this case: by_pk narrows, it never widens.
    assert by_pk(staff_cases_visible_to(cast.therapist_b), cast.couple_case.pk) is None
    assert by_pk(staff_cases_visible_to(cast.therapist_a), cast.couple_case.pk) == cast.couple_case


def test_one_query_without_an_order(cast):
    with CaptureQueriesContext(connection) as queries:
        by_pk(Case.objects.with_people(), cast.couple_case.pk)
    assert len(queries) == 1
    assert "ORDER BY" not in queries[0]["sql"]
    assert "LIMIT 1" in queries[0]["sql"]
