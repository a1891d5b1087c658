"""The anchored head: `audit_anchor` writes it outside the database; `audit_verify` catches all four kinds
of tampering (edit, forged insert, deleted middle, deleted newest) once an anchor exists."""

import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tandem.audit.models import AuditEvent
from tandem.audit.services import audit_record
from tests.test_audit_chain import chain, raw, tampering  # noqa: F401  (the shared fixture)


@pytest.fixture
def anchored(chain, tmp_path, settings) -> Path:  # noqa: F811
    path = tmp_path / "audit-anchors.log"
    settings.AUDIT_ANCHOR_PATH = str(path)
    call_command("audit_anchor")
    return path


def _verify_fails() -> str:
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify")
    assert caught.value.returncode == 1
    return str(caught.value)


def test_the_anchor_is_a_signed_line_appended_per_run(anchored, capsys):
    audit_record(actor=None, action="auth.login_failed", detail={})
    call_command("audit_anchor")
    lines = anchored.read_text().splitlines()
    assert [json.loads(line)["seq"] for line in lines] == [6, 7]
    assert set(json.loads(lines[0])) == {"seq", "hmac", "at", "sig"}
    call_command("audit_verify")
    assert "anchor OK: the chain reaches #7" in capsys.readouterr().out


def test_events_after_the_anchor_are_fine(anchored, capsys):
    audit_record(actor=None, action="auth.login_failed", detail={})
    call_command("audit_verify")
    assert "anchor OK: the chain reaches #6" in capsys.readouterr().out


def test_tamper_edit(anchored):
    with tampering():
        raw("UPDATE audit_auditevent SET action = %s WHERE seq = 3", ["case.view"])
    assert "BROKEN at event #3" in _verify_fails()


def test_tamper_forged_insert(anchored, chain):  # noqa: F811
    AuditEvent.objects.create(
        seq=7, at=chain[-1].at, actor_label="x", action="case.view", detail={}, prev_hmac=chain[-1].hmac
    )
    assert "BROKEN at event #7" in _verify_fails()


def test_tamper_deleted_middle(anchored):
    with tampering():
        raw("DELETE FROM audit_auditevent WHERE seq = 4")
    assert "event #4 is missing" in _verify_fails()


def test_tamper_deleted_newest(anchored, capsys):
    with tampering():
        raw("DELETE FROM audit_auditevent WHERE seq >= 5")
    error = _verify_fails()
    assert "events #5 to #6 are missing" in error and "newest events deleted" in error


def test_tamper_deleted_newest_and_rewritten_in_their_place(anchored):
    # The newest events replaced by new ones with the same numbers: the anchored HMAC no longer matches.
    with tampering():
        raw("DELETE FROM audit_auditevent WHERE seq = 6")
    audit_record(actor=None, action="case.view", detail={})
    assert "event #6 differs from the anchor" in _verify_fails()


def test_a_forged_or_edited_anchor_line_is_refused(anchored):
    line = json.loads(anchored.read_text())
    line["seq"] = 3
    anchored.write_text(json.dumps(line) + "\n")
    assert "bad signature" in _verify_fails()


def test_without_an_anchor_file_verify_says_what_it_cannot_see(chain, settings, capsys):  # noqa: F811
    settings.AUDIT_ANCHOR_PATH = ""
    call_command("audit_verify")
    assert "deleted newest events cannot be detected" in capsys.readouterr().out


def test_the_notify_worker_writes_the_anchor(chain, tmp_path, settings):  # noqa: F811
    settings.AUDIT_ANCHOR_PATH = str(tmp_path / "a.log")
    call_command("notify_worker", "--once")
    assert json.loads((tmp_path / "a.log").read_text())["seq"] == 6
