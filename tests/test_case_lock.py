"""A case locked by one writer does not hold up another that only adds a row naming the case."""

import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tandem.cases.models import Case
from tandem.pathway.models import TreatmentFormat, TreatmentPlan

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks: SQLite serializes all writers"),
    pytest.mark.django_db(transaction=True),
]


def test_a_plan_version_is_added_while_another_writer_holds_the_case(cast):
    case = cast.couple_case
    added = threading.Event()
    errors: list[BaseException] = []

    def add_version() -> None:
        try:
            TreatmentPlan.objects.create(
                case_id=case.pk,
                version=1,
                format=TreatmentFormat.STANDARD,
                sessions_per_week=1,
                goals="Synthetic goals.",
                created_at=timezone.now(),
                created_by=cast.director,
            )  # autocommit: its foreign key checks at this commit
            added.set()
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    with transaction.atomic():
        Case.objects.locked().get(pk=case.pk)
        writer = threading.Thread(target=add_version)
        writer.start()
        # Under FOR UPDATE the insert's KEY SHARE check would wait here until this transaction ends.
        assert added.wait(timeout=10), errors
    writer.join(timeout=10)
    assert not errors, errors
