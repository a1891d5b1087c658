"""Print a set-up link for a staff member: how the first director of a new installation gets in.

With the second factor required, a password never enrols an authenticator, so a director made with
`createsuperuser` could not log in. Whoever runs commands on the server already holds the keys, so this
prints the link instead of e-mailing it:

    manage.py staff_link --new-director EMAIL --first-name NAME --last-name NAME
    manage.py staff_link USERNAME      # a new link for an existing staff member (removes their factor)
"""

from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.urls import reverse

from tandem.accounts.models import User
from tandem.accounts.staff import SentStaffLink, staff_console_link, staff_first_director


def _link_for(token: str) -> str:
    return settings.PORTAL_BASE_URL.rstrip("/") + reverse("accounts:staff_link", kwargs={"token": token})


class Command(BaseCommand):
    help = "Print a single-use link with which a staff member sets their password and authenticator."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("username", help="A staff member's user name, or with --new-director an e-mail.")
        parser.add_argument(
            "--new-director", action="store_true", help="Create the practice's first director."
        )
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            sent = self._link(options)
        except ValidationError as problem:
            raise CommandError(" ".join(problem.messages)) from problem
        until = f"{sent.invitation.expires_at:%Y-%m-%d %H:%M} UTC"
        self.stdout.write(f"Set-up link for {sent.invitation.user.username} (works once, until {until}):")
        self.stdout.write(sent.link)

    def _link(self, options: dict[str, Any]) -> SentStaffLink:
        if options["new_director"]:
            return staff_first_director(
                first_name=options["first_name"],
                last_name=options["last_name"],
                email=options["username"],
                link_for=_link_for,
            )
        user = User.objects.filter(username=options["username"]).first()
        if user is None or not user.is_practice_staff:
            raise CommandError("No active staff member with that user name.")
        return staff_console_link(user=user, link_for=_link_for)
