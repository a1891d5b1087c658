"""tandem.lib.jinja's label filter: a choice field's label from a table made once, as Django displays it."""

import pytest

from tandem.cases.models import Case
from tandem.lib import jinja
from tandem.scheduling.models import Appointment


@pytest.mark.parametrize(
    ("model", "name"),
    [(Case, "phase"), (Appointment, "kind"), (Appointment, "mode"), (Appointment, "status")],
)
def test_a_choice_label_is_what_django_displays(model, name):
    for value, _ in model._meta.get_field(name).flatchoices:
        row = model(**{name: value})
        assert jinja.label(row, name) == getattr(row, f"get_{name}_display")()


def test_a_value_outside_the_choices_prints_as_itself():
    row = Case(phase="not-a-phase")
    assert jinja.label(row, "phase") == row.get_phase_display() == "not-a-phase"
