"""Two workers appending at the same moment must still produce one unbroken chain."""

import threading

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction

from tandem.audit.models import AuditEvent
from tandem.audit.services import audit_record

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
