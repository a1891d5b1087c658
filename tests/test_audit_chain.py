"""The audit chain and `manage.py audit_verify`: whole chains pass, tampered ones name the first bad event."""

import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.core.management import call_command, execute_from_command_line
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from tandem.audit.models import AuditEvent
from tandem.audit.services import audit_chain_problems, audit_record, verify_audit_chain
from tests.cast import Cast

on_postgres = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL trigger")


@pytest.fixture
def chain(cast: Cast) -> list[AuditEvent]:
    """Six events from different people, some about cases, some not."""
    return [
        audit_record(actor=cast.director, action="case.view", target=cast.couple_case, case=cast.couple_case),
        audit_record(
            actor=cast.therapist_a, action="case.view_clinical", case=cast.couple_case, ip="10.0.0.7"
        ),
        audit_record(
            actor=cast.coordinator, action="case.update", case=cast.solo_case, detail={"fields": ["phone"]}
        ),
        audit_record(actor=cast.therapist_b, action="access.denied", detail={"object": "case", "id": "2"}),
        audit_record(actor=None, action="auth.login_failed", detail={"username": "nobody"}),
        audit_record(actor=cast.director, action="audit.view"),
    ]


@contextmanager
def tampering() -> Iterator[None]:
    """Lift PostgreSQL's append-only trigger for this test only (the test's transaction rolls it back)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
    try:
        yield
    finally:
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only")


def raw(sql: str, params: list | None = None) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])


def verify_fails() -> CommandError:
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify")
    assert caught.value.returncode == 1
    return caught.value


# --- Whole chains ---------------------------------------------------------------------------------


def test_empty_chain_is_ok(db, capsys):
    call_command("audit_verify")
    assert "audit chain OK: 0 events" in capsys.readouterr().out


def test_chain_of_several_events_verifies(chain, capsys):
    call_command("audit_verify")
    out = capsys.readouterr().out
    assert "audit chain OK: 6 events" in out
    assert f"head: #6 {chain[-1].hmac}" in out
    assert list(audit_chain_problems()) == []


def test_events_link_in_order(chain):
    assert [e.seq for e in chain] == [1, 2, 3, 4, 5, 6]
    assert chain[0].prev_hmac == "0" * 64
    assert all(later.prev_hmac == earlier.hmac for earlier, later in itertools.pairwise(chain))


def test_exit_status_and_stderr_from_the_command_line(chain, capsys, monkeypatch):
    """What cron sees: status 0 and a line on stdout, or status 1 and the bad event on stderr."""
    # run_from_argv closes every connection when it ends; here that would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    execute_from_command_line(["manage.py", "audit_verify"])  # returns normally: exit status 0
    assert "audit chain OK: 6 events" in capsys.readouterr().out

    with tampering():
        raw("UPDATE audit_auditevent SET action = %s WHERE seq = 3", ["case.view"])
    with pytest.raises(SystemExit) as bad:
        execute_from_command_line(["manage.py", "audit_verify"])
    assert bad.value.code == 1
    err = capsys.readouterr().err
    assert f"event #3 (id {chain[2].pk})" in err
    assert "content does not match its HMAC" in err


def test_values_are_signed_as_the_database_returns_them(cast):
    """IPv6 is rewritten by the field, case ids arrive as strings from URLs, tuples become lists."""
    audit_record(
        actor=cast.director, action="case.view", case=str(cast.couple_case.pk), ip="2001:DB8:0:0::0001"
    )
    audit_record(actor="system", action="import.run", detail={"ids": (1, 2), 3: "three"})  # type: ignore[dict-item]
    stored = AuditEvent.objects.order_by("seq")
    assert stored[0].ip == "2001:db8::1"
    assert stored[0].case_id == cast.couple_case.pk
    assert stored[1].detail == {"ids": [1, 2], "3": "three"}
    assert stored[1].actor_label == "system"
    call_command("audit_verify")


# --- Tampering behind the app's back --------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("action", "case.view"),
        ("detail", json.dumps({"fields": ["phone", "email"]})),
        ("actor_label", "someone.else"),
        ("ip", "192.0.2.1"),
        ("at", "2026-01-01 00:00:00"),
    ],
)
def test_edited_row_is_named(chain, column, value):
    with tampering():
        cast_to = "::jsonb" if column == "detail" and connection.vendor == "postgresql" else ""
        raw(f"UPDATE audit_auditevent SET {column} = %s{cast_to} WHERE seq = 3", [value])  # noqa: S608
    error = verify_fails()
    assert f"event #3 (id {chain[2].pk})" in str(error)
    assert "content does not match its HMAC" in str(error)


def test_edited_row_with_a_fresh_hmac_breaks_the_link_to_the_next(chain):
    """Without the key a forger cannot sign the edit; re-hashing with a guess shows up one way or another."""
    with tampering():
        raw("UPDATE audit_auditevent SET action = %s, hmac = %s WHERE seq = 2", ["case.view", "f" * 64])
    error = verify_fails()
    assert f"event #2 (id {chain[1].pk})" in str(error)


def test_deleted_row_in_the_middle_is_reported_at_the_gap(chain):
    with tampering():
        raw("DELETE FROM audit_auditevent WHERE seq = 4")
    error = verify_fails()
    assert f"event #5 (id {chain[4].pk})" in str(error)
    assert "event #4 is missing" in str(error)


def test_several_deleted_rows_are_reported_as_a_range(chain):
    with tampering():
        raw("DELETE FROM audit_auditevent WHERE seq IN (2, 3)")
    assert "events #2 to #3 are missing" in str(verify_fails())


def test_forged_row_appended_with_a_made_up_hmac(chain):
    forged = AuditEvent.objects.create(
        seq=7,
        at=chain[-1].at,
        actor_id=chain[0].actor_id,
        actor_label="dana.director",
        action="case.view",
        case_id=chain[0].case_id,
        detail={},
        prev_hmac=chain[-1].hmac,
        hmac="a" * 64,
    )
    error = verify_fails()
    assert f"event #7 (id {forged.pk})" in str(error)


def test_forged_row_before_the_first_event(chain):
    forged = AuditEvent.objects.create(
        seq=0,
        at=chain[0].at,
        actor_label="x",
        action="case.view",
        detail={},
        prev_hmac="0" * 64,
        hmac="b" * 64,
    )
    error = verify_fails()
    assert f"event #0 (id {forged.pk})" in str(error)
    assert "unexpected sequence number" in str(error)


def test_all_option_lists_every_bad_event(chain, capsys):
    with tampering():
        raw("UPDATE audit_auditevent SET action = %s WHERE seq IN (2, 5)", ["x"])
    with pytest.raises(CommandError) as caught:
        call_command("audit_verify", "--all")
    assert "(2 bad events)" in str(caught.value)
    err = capsys.readouterr().err
    assert "bad event #2" in err and "bad event #5" in err
    assert [p.seq for p in audit_chain_problems()] == [2, 5]


def test_walk_reads_in_chunks(chain, monkeypatch):
    """A large table is streamed, not loaded whole: force tiny chunks and the result is the same."""
    monkeypatch.setattr("tandem.audit.services._VERIFY_CHUNK", 2)
    report = verify_audit_chain()
    assert report.ok and report.events == 6


# --- PostgreSQL refuses the edit in the first place -----------------------------------------------


@on_postgres
@pytest.mark.parametrize(
    "sql",
    ["UPDATE audit_auditevent SET action = 'x' WHERE seq = 1", "DELETE FROM audit_auditevent WHERE seq = 1"],
)
def test_postgres_refuses_update_and_delete(chain, sql):
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(sql)
    call_command("audit_verify")


@on_postgres
def test_postgres_refuses_orm_update(chain):
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEvent.objects.filter(seq=2).update(action="x")
    assert AuditEvent.objects.get(seq=2).action == "case.view_clinical"
