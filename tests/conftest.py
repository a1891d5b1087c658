import base64
import os

import pytest

from tests.cast import Cast, build_cast

# The tests' own encryption key for clinical text (production sets TANDEM_FIELD_KEYS itself); exported so
# that the `check --deploy` subprocesses see a configured key too.
os.environ.setdefault(
    "TANDEM_FIELD_KEYS", base64.urlsafe_b64encode(b"tandem-test-field-key-0123456789").decode()
)


@pytest.fixture(autouse=True)
def _fast_hashing(settings):
    # Argon2 is right for production but makes building the cast slow; the hashing itself is Django's.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def cast(db) -> Cast:
    return build_cast()


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
