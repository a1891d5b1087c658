"""E-mails asked for in a web request but sent by the notify worker.

A request that looks an address up (password reset, a portal invitation, a second consultation booking)
only stores a job and answers; the lookup and the send happen here, in the worker. So the request takes
the same time and says the same thing whether or not the address belongs to anyone, and only the owner
of the address learns what the practice knows about it.
"""

import datetime as dt
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import EmailMessage, make_msgid
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from tandem.audit.actors import SIGN_IN
from tandem.audit.services import audit_record
from tandem.notify.models import Job, JobKind

# What `prepare` gives back: why nothing is sent (or ''), and the messages to send.
Prepared = tuple[str, list[EmailMessage]]


def email_queue(*, kind: str, secret: str, user: Any = None, object_id: int | None = None) -> Job:
    """Store one e-mail for the worker, inside the caller's transaction (it commits with the action)."""
    return Job.objects.create(
        kind=kind,
        key=f"{kind}:{uuid.uuid4().hex}",
        user=user,
        object_id=object_id,
        secret=secret,
        due_at=timezone.now(),
    )


def password_reset_queue(*, email: str) -> None:
    """Queue a reset e-mail for whoever owns `email`, if anyone: the worker looks the address up.

    The request does the same work for any address (one job row, one audit row without the address),
    so neither its answer nor its timing tells a visitor whether the address has an account.
    (settings.TANDEM_RESET_EMAIL_QUEUE names this for the accounts app's reset form.)
    """
    with transaction.atomic():
        job = email_queue(kind=JobKind.PASSWORD_RESET, secret=email.strip())
        audit_record(actor=SIGN_IN, action="auth.password_reset_requested", target=job, detail={})


def message(job: Job, n: int, *, template: str, context: dict[str, Any], to: str) -> EmailMessage:
    """One e-mail whose Message-ID names the job, so an operator can find it in the mail server's log."""
    context = {"practice": settings.PRACTICE_NAME, **context}
    subject = render_to_string(f"{template}_subject.txt", context).strip()
    body = render_to_string(f"{template}.txt", context)
    headers = {"Message-ID": make_msgid(idstring=f"tandem-job-{job.pk}.{n}")}
    return EmailMessage(subject, body, None, [to], headers=headers)


def _password_reset(job: Job, now: dt.datetime) -> Prepared:
    from tandem.accounts.forms import PasswordResetForm

    address = job.secret or ""
    # Django's own rule: active accounts with a usable password whose address matches.
    users = list(PasswordResetForm().get_users(address))
    if not users:
        return "no account for the address", []
    base = urlsplit(settings.PORTAL_BASE_URL)
    messages = []
    for n, user in enumerate(users):
        context = {
            "user": user,
            "uid": urlsafe_base64_encode(force_bytes(user.pk)),
            "token": default_token_generator.make_token(user),
            "protocol": base.scheme or "https",
            "domain": base.netloc,
            "site_name": settings.PRACTICE_NAME,
        }
        template = "accounts/email/password_reset"
        messages.append(message(job, n, template=template, context=context, to=address))
    return "", messages


# What each kind of queued e-mail says and to whom, decided by the worker when it sends. Apps above
# notify (the portal, the public site) register theirs when they load (their apps.py), so notify never
# reads their rows itself.
HANDLERS: dict[str, Callable[[Job, dt.datetime], Prepared]] = {JobKind.PASSWORD_RESET: _password_reset}


def register(kind: str, handler: Callable[[Job, dt.datetime], Prepared]) -> None:
    HANDLERS[kind] = handler


def prepare(job: Job, now: dt.datetime) -> Prepared:
    return HANDLERS[job.kind](job, now)
