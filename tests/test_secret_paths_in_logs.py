"""No log line holds a secret token from a URL: the development server's request log, Django's 404 log,
and the gunicorn access-log format the README gives."""

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core.servers.basehttp import WSGIRequestHandler
from django.urls import reverse

from tandem.lib.logredact import redact

TOKEN = "s3cr3t-T0ken_abcdefghijklmnopqrstuvwxyz0123"


def secret_urls() -> list[str]:
    return [
        reverse("scheduling:feed_ics", args=[TOKEN]),
        reverse("accounts:password_reset_confirm", kwargs={"uidb64": "MQ", "token": TOKEN}),
        reverse("portal:accept", kwargs={"token": TOKEN}),
        reverse("public:consultation_booked", kwargs={"token": TOKEN}),
        reverse("public:consultation_manage", kwargs={"token": TOKEN}),
    ]


@pytest.fixture
def logged_by(capsys):
    """What the configured handlers write (to standard error) while `emit()` runs."""

    def run(emit) -> str:
        capsys.readouterr()
        emit()
        return capsys.readouterr().err

    return run


@pytest.mark.parametrize("status", ["200", "404"])
def test_the_development_server_logs_no_token(status, logged_by):
    for path in secret_urls():
        handler = SimpleNamespace(request=None, log_date_time_string=lambda: "04/Dec/2026 12:00:00")
        line = logged_by(
            lambda path=path, handler=handler: WSGIRequestHandler.log_message(
                handler, '"%s" %s %s', f"GET {path} HTTP/1.1", status, "512"
            ),
        )
        assert TOKEN not in line and "[secret]" in line, line


@pytest.mark.django_db
def test_a_refused_link_is_logged_without_its_token(client, logged_by):
    # Django logs every 4xx answer with its path ("Gone: /consultation/booked/…").
    for name in ("public:consultation_booked", "portal:accept"):
        line = logged_by(lambda name=name: client.get(reverse(name, args=[TOKEN])))
        assert "[secret]" in line and TOKEN not in line, line


def test_every_url_with_a_token_is_redacted_and_others_are_not():
    for path in secret_urls():
        assert TOKEN not in redact(f"GET {path}?x=1 HTTP/1.1")
    assert redact("GET /scheduling/feed/ HTTP/1.1") == "GET /scheduling/feed/ HTTP/1.1"
    assert redact("/accounts/password-reset/sent/") == "/accounts/password-reset/sent/"


# Gunicorn access-log atoms that can hold a path, a query, a referer or who the client is.
_UNSAFE_ATOMS = set("rUqfahulp") | {"{"}


def test_the_readme_gunicorn_access_log_format_leaves_paths_out():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    formats = re.findall(r"--access-logformat '([^']+)'", readme)
    assert formats, "the README gives a gunicorn access-log format"
    for fmt in formats:
        atoms = set(re.findall(r"%\((\{?[a-zA-Z]+)", fmt))
        assert atoms and not {a[0] for a in atoms} & _UNSAFE_ATOMS, atoms
        assert "gunicorn" in readme and "--access-logfile" in readme
