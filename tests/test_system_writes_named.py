"""Every audited write names who acted: a person, or the SystemActor of the part that acted."""

import ast
import io
from pathlib import Path

import pytest
from django.core.management import call_command

from tandem.accounts.services import record_lockout
from tandem.audit.models import AuditEvent
from tandem.notify.mail import password_reset_queue

TANDEM = Path(__file__).resolve().parent.parent / "tandem"


def test_nothing_in_tandem_passes_actor_none():
    found = []
    for path in sorted(TANDEM.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                for keyword in node.keywords:
                    if (
                        keyword.arg == "actor"
                        and isinstance(keyword.value, ast.Constant)
                        and keyword.value.value is None
                    ):
                        found.append(f"{path.relative_to(TANDEM)}:{node.lineno}")
    assert found == []


@pytest.mark.django_db
def test_sign_in_pages_and_commands_are_named_in_the_trail(rf):
    request = rf.post("/accounts/login/")
    request.session = {}
    record_lockout(request=request, username="somebody")
    password_reset_queue(email="nobody@example.org")
    call_command("rotate_keys", stdout=io.StringIO())
    events = AuditEvent.objects.order_by("seq")
    assert [(e.action, e.actor_id, e.actor_label) for e in events] == [
        ("auth.locked_out", None, "system:sign-in"),
        ("auth.password_reset_requested", None, "system:sign-in"),
        ("crypto.rotate_keys", None, "system:key-rotation"),
    ]
