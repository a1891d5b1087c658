"""Print a set-up link for a staff member: how the first director of a new installation gets in.

With the second factor required, `createsuperuser` alone leaves a director who cannot log in (a password
never enrols an authenticator). Whoever runs commands on the server already holds the keys, so this
prints the link instead of e-mailing it.
"""

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from tandem.accounts.models import User
from tandem.accounts.staff import staff_console_link


class Command(BaseCommand):
    help = "Print a single-use link with which a staff member sets their password and authenticator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username")

    def handle(self, *args: Any, **options: Any) -> None:
        user = User.objects.filter(username=options["username"]).first()
        if user is None or not user.is_practice_staff:
            raise CommandError("No active staff member with that user name.")
        base = settings.PORTAL_BASE_URL.rstrip("/")
        sent = staff_console_link(
            user=user, link_for=lambda token: base + reverse("accounts:staff_link", kwargs={"token": token})
        )
        until = f"{sent.invitation.expires_at:%Y-%m-%d %H:%M} UTC"
        self.stdout.write(f"Set-up link for {user.username} (works once, until {until}):")
        self.stdout.write(sent.link)
