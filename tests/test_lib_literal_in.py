"""`field__literal_in` (tandem/lib/lookups.py): the code's own constants written into the query text, so
that a partial index on the same condition serves prepared generic plans; never anything else."""

import pytest

from tandem.cases.models import OPEN_PHASES, Case, Phase
from tandem.scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def test_the_open_cases_carry_their_phases_in_the_text_and_match_the_parameter_form(cast):
    Case.objects.filter(pk=cast.solo_case.pk).update(phase=Phase.DISCHARGED)
    sql = str(Case.objects.open().query)
    assert "IN ('consultation', 'intake', 'assessment', 'treatment', 'follow_up')" in sql
    assert set(Case.objects.open()) == set(Case.objects.filter(phase__in=OPEN_PHASES)) == {cast.couple_case}


def test_it_nests_in_another_query_under_the_subquery_alias(cast):
    Case.objects.filter(pk=cast.solo_case.pk).update(phase=Phase.CLOSED)
    nested = Appointment.objects.filter(case__in=Case.objects.open().values("pk"))
    assert list(nested) == list(Appointment.objects.filter(case__phase__in=OPEN_PHASES))
    assert Case.objects.filter(pk__in=Case.objects.open().values("pk")).count() == 1


@pytest.mark.parametrize(
    "values",
    [("open', 'x",), ("Intake",), ("a b",), (), (1,), ("phase; DROP TABLE cases_case",), ("x--",)],
)
def test_anything_but_plain_lower_case_words_is_refused(values):
    with pytest.raises(ValueError, match="literal_in"):
        str(Case.objects.filter(phase__literal_in=values).query)
