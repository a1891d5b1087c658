"""The printed demo log-ins."""

from __future__ import annotations

from collections.abc import Iterator

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password

from tandem.accounts.models import Role, User
from tandem.cases.models import Case, Client, Phase
from tandem.demo.data import CLIENT_DOMAIN, DEMO_LOGINS, DEMO_PASSWORD, LOGIN_NOTES
from tandem.demo.plans import CasePlan
from tandem.demo.state import SeedState


class LoginsSeed(SeedState):
    def _client_logins(self, plans: list[CasePlan], cases: list[Case]) -> Case | None:
        """Both partners of one couple the demo therapist is treating now can log in to the portal."""
        demo = self.therapists[0].pk

        preferred = (Phase.TREATMENT, Phase.ASSESSMENT, Phase.FOLLOW_UP)

        def rank(item: tuple[CasePlan, Case]) -> tuple[int, int]:
            plan, case = item
            return (preferred.index(plan.phase) if plan.phase in preferred else len(preferred), case.pk)

        candidates = [
            (plan, case)
            for plan, case in zip(plans, cases, strict=True)
            if case.partner_b_id is not None and plan.team is None and case.therapist_id == demo
        ]
        if not candidates:
            return None
        _, case = min(candidates, key=rank)
        assert case.partner_b is not None
        for username, client in (("client", case.partner_a), ("partner", case.partner_b)):
            portal_account(client, username=username, password=DEMO_PASSWORD)
        return case


def portal_account(client: Client, *, username: str, password: str | None) -> User:
    """A client's portal log-in, as accepting an invitation makes it (None: a password nobody knows)."""
    user = User(
        username=username,
        role=Role.CLIENT,
        first_name=client.first_name,
        last_name=client.last_name,
        email=f"{username}@{CLIENT_DOMAIN}",
    )
    if password is not None:
        validate_password(password, user)
    user.password = make_password(password)
    user.save()
    client.user = user
    client.email = user.email or ""
    client.save(update_fields=["user", "email"])
    return user


def login_lines() -> Iterator[str]:
    labels = dict(Role.choices)
    width = max(len(label) for label in labels.values())
    # The address actually served (`make run` passes it); the default is the one DEMO_URL names.
    base = settings.PORTAL_BASE_URL.rstrip("/") + "/"
    yield f"Demo log-ins at {base} (password for each: {DEMO_PASSWORD})"
    for role, username in DEMO_LOGINS:
        note = f"  ({LOGIN_NOTES[username]})" if username in LOGIN_NOTES else ""
        yield f"  {labels[role]:<{width}}  username {username:<12} password {DEMO_PASSWORD}{note}"
