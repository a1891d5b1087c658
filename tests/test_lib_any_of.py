"""`field__any_of` (tandem/lib/lookups.py): a list of ids as one array parameter on PostgreSQL, an IN list
elsewhere; the same rows either way, on the model's own key and across a foreign key."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tandem.cases.models import Case
from tandem.lib.lookups import Ids
from tandem.scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def test_ids_match_as_an_in_list_would(cast):
    ids = [cast.couple_case.pk, cast.solo_case.pk + 1000]
    assert list(Case.objects.filter(pk__any_of=ids)) == list(Case.objects.filter(pk__in=ids))
    assert list(Case.objects.filter(pk__any_of=ids)) == [cast.couple_case]
    # The prepared form (what CareScope holds) gives the same rows, and compares by its ids.
    assert list(Case.objects.filter(pk__any_of=Ids(ids))) == [cast.couple_case]
    assert Ids(ids) == Ids(tuple(ids)) and Ids(ids) != Ids(ids[:1]) and len(Ids(ids)) == 2


def test_across_a_foreign_key_it_reads_the_column_without_a_join(cast):
    mine = Appointment.objects.filter(case__any_of=[cast.solo_case.pk])
    assert list(mine) == list(Appointment.objects.filter(case=cast.solo_case))
    assert "JOIN" not in str(mine.query)


def test_nothing_matches_an_empty_list(cast):
    with CaptureQueriesContext(connection) as ctx:
        assert list(Case.objects.filter(pk__any_of=[])) == []
    # Elsewhere Django answers without asking; PostgreSQL is asked `= ANY('{}')`.
    assert len(ctx.captured_queries) == (1 if connection.vendor == "postgresql" else 0)


def test_one_parameter_however_many_ids_on_postgresql(cast):
    if connection.vendor != "postgresql":
        pytest.skip("the array parameter is PostgreSQL's")
    with CaptureQueriesContext(connection) as ctx:
        list(Case.objects.filter(pk__any_of=list(range(1, 500))))
    assert "= ANY(" in ctx.captured_queries[0]["sql"] and "::bigint[]" in ctx.captured_queries[0]["sql"]
    assert ctx.captured_queries[0]["sql"].count("ANY") == 1


def test_values_must_be_ids(cast):
    with pytest.raises((ValueError, TypeError)):
        list(Case.objects.filter(pk__any_of=["1; DROP TABLE cases_case"]))
    with pytest.raises(ValueError):
        Ids(["1}, {2"])
