"""Two workers appending at the same moment must still produce one unbroken chain."""

import datetime as dt
import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from tandem.audit.models import AuditEvent
from tandem.audit.services import audit_record
from tandem.cases.models import Case, Client, Phase

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database cannot be shared by threads; IMMEDIATE transactions cover it",
)

THREADS = 4
PER_THREAD = 25


@pytest.mark.django_db(transaction=True)
def test_parallel_appends_keep_the_chain_whole(capsys):
    start = threading.Barrier(THREADS)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            start.wait()
            for i in range(PER_THREAD):
                # Like a request: the event commits with a transaction that does other work first.
                with transaction.atomic():
                    AuditEvent.objects.count()
                    audit_record(actor=f"worker-{n}", action="test.parallel", detail={"worker": n, "i": i})
        except BaseException as exc:  # re-raised in the main thread
            errors.append(exc)
        finally:
            # Each thread has its own connection; leaving it open would block the test database's teardown.
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors

    seqs = list(AuditEvent.objects.order_by("seq").values_list("seq", flat=True))
    assert seqs == list(range(1, THREADS * PER_THREAD + 1))
    call_command("audit_verify")
    assert f"audit chain OK: {THREADS * PER_THREAD} events" in capsys.readouterr().out


def _wait_until_someone_waits_for_a_lock() -> None:
    deadline = time.monotonic() + 20
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            # pg_locks is read live; pg_stat_activity would repeat the transaction's first snapshot.
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.02)
    raise AssertionError("the second writer never waited for the row")


@pytest.mark.django_db(transaction=True)
def test_a_row_locked_by_one_writer_and_named_by_another_does_not_deadlock_the_chain():
    # One writer locks a row FOR UPDATE and appends last (as a cancellation locks its appointment); the
    # other adds a row naming it, whose foreign key PostgreSQL checks at commit, and appends. Had the
    # second taken the chain's lock before that check, each would wait for the other.
    client = Client.objects.create(first_name="Rowan", last_name="Synthetic")
    other = Client.objects.create(first_name="Sasha", last_name="Synthetic")
    locked = threading.Event()
    errors: list[BaseException] = []

    def holder() -> None:
        try:
            with transaction.atomic():
                Client.objects.select_for_update().get(pk=client.pk)
                locked.set()
                _wait_until_someone_waits_for_a_lock()
                audit_record(actor="holder", action="test.holder", target=client)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    def referrer() -> None:
        try:
            locked.wait(timeout=20)
            with transaction.atomic():
                case = Case.objects.create(
                    reference="T-LOCK-1",
                    partner_a=client,
                    partner_b=other,
                    phase=Phase.ASSESSMENT,
                    opened_on=dt.date(2026, 9, 1),
                )
                audit_record(actor="referrer", action="test.referrer", target=case, case=case)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=holder), threading.Thread(target=referrer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    assert list(AuditEvent.objects.order_by("seq").values_list("action", flat=True)) == [
        "test.holder",
        "test.referrer",
    ]
