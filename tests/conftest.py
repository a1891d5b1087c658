import base64
import os
from collections.abc import Iterator
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test.utils import override_settings

from tests.cast import Cast, build_cast

# The tests' own encryption key for clinical text (production sets TANDEM_FIELD_KEYS itself); exported so
# that the `check --deploy` subprocesses see a configured key too.
os.environ.setdefault(
    "TANDEM_FIELD_KEYS", base64.urlsafe_b64encode(b"tandem-test-field-key-0123456789").decode()
)


FAST_HASHING = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is right for production but makes building the cast slow; the hashing itself is Django's.
    settings.PASSWORD_HASHERS = FAST_HASHING
    # Every remembered query is also compiled Django's way and must match (tandem/lib/remembered_queries).
    settings.TANDEM_CHECK_REMEMBERED_QUERIES = True


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


@pytest.fixture(scope="module")
def demo_practice(django_db_setup, django_db_blocker) -> Iterator[str]:
    """The small demo practice (`seed_demo`'s output), seeded once for a whole test module rather than
    once per test: in a transaction left open while the module's tests run, each inside its own
    savepoint, and rolled back afterwards. Rolled back, not flushed: a flush would also empty the rows
    the migrations install (exercises, consent texts) that later tests on the same worker rely on.
    Every database test of a module that uses it must want the demo: the transaction stays open until
    the module's last test on this worker."""
    with django_db_blocker.unblock():
        module = transaction.atomic()
        module.__enter__()
        out = StringIO()
        # The passwords as the tests' own hasher makes them (see _fast_hashing), so log-ins check quickly.
        with override_settings(PASSWORD_HASHERS=FAST_HASHING):
            call_command("seed_demo", stdout=out, stderr=StringIO())
    try:
        yield out.getvalue()
    finally:
        with django_db_blocker.unblock():
            transaction.set_rollback(True)
            module.__exit__(None, None, None)


def pytest_collection_modifyitems(config, items):
    # Playwright's sync API keeps an event loop running in the main thread from the first journey until
    # the session ends; after that Django's test client cannot call an async view (the health check)
    # in this thread. Journeys therefore run last; the stable sort keeps every other order as written.
    items.sort(key=lambda item: item.nodeid.startswith("tests/browser/"))


def pytest_configure(config):
    # Under pytest-xdist each worker gets its own Redis database (the CACHE_URL's index + the worker's
    # number), as it gets its own test database: rate limits, locks and cached pages of one worker's
    # tests must not leak into another's.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    url = os.environ.get("CACHE_URL", "")
    if not worker.startswith("gw") or not url.startswith("redis://"):
        return
    from django.conf import settings

    base, _, index = url.rpartition("/")
    number = int(index or 0) + int(worker[2:])
    settings.CACHES["default"]["LOCATION"] = f"{base}/{number}"
