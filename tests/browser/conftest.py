"""Playwright journeys in Debian's chromium against pytest-django's live server."""

import importlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.apps import apps
from playwright.sync_api import Browser, Page, Playwright, sync_playwright

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# Generous: CI machines are shared, and the first request of a live server imports every app.
PAGE_TIMEOUT_MS = 30_000
CHROMIUM = os.environ.get("TANDEM_CHROMIUM", "/usr/bin/chromium")
# The machine has no network beyond package registries: switch off everything chromium phones home for.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix: None) -> None:
    """On SQLite, the journeys' test database is a file, as in production, not Django's in-memory one.
    The live server answers several browsers at once (the video journey: three of them, polling), and
    an in-memory shared-cache database refuses a write that meets another at once ("database table is
    locked"), where a file database waits its timeout (settings: IMMEDIATE transactions, WAL)."""
    from django.conf import settings

    default = settings.DATABASES["default"]
    if default["ENGINE"] == "django.db.backends.sqlite3":
        name = Path(tempfile.gettempdir()) / f"tandem-browser-tests-{os.getpid()}.sqlite3"
        default.setdefault("TEST", {})["NAME"] = str(name)


@pytest.fixture(scope="session")
def playwright() -> Iterator[Playwright]:
    """One Playwright for the whole run: its sync API refuses to start a second one while this one's
    event loop runs, so a journey that needs a differently launched browser launches it from here."""
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium package")
    with sync_playwright() as started:
        yield started


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
    yield launched
    launched.close()


@pytest.fixture(scope="session", autouse=True)
def urls_imported() -> None:
    """Import every app's views in this process before the live server's first request, which would
    otherwise spend its page timeout importing them on a busy machine (the server runs in a thread here)."""
    from django.urls import get_resolver

    get_resolver().resolve("/")


@pytest.fixture
def desktop(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-GB")
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    yield page
    context.close()


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page = context.new_page()
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    yield page
    context.close()


# Rows that data migrations load. A transactional test empties every table when it ends (Django's
# serialized rollback did not bring them back reliably here), so journeys load them again first.
DATA_MIGRATIONS = [
    ("tandem.cases.migrations.0002_presenting_problem_codes", "load"),
    ("tandem.homework.migrations.0002_starter_exercises", "load"),
    ("tandem.pathway.migrations.0002_seed_specialist_types", "seed"),
    ("tandem.consents.migrations.0002_starter_documents", "load"),
    ("tandem.records.migrations.0002_note_templates", "load"),
    ("tandem.public.migrations.0002_starter_pages", "load"),
]


@pytest.fixture
def migration_data(transactional_db: None) -> None:
    for module, function in DATA_MIGRATIONS:
        getattr(importlib.import_module(module), function)(apps, None)
