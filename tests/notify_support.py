"""E-mails asked for in a request are sent by the notify worker: tests run one pass to receive them."""

from django.core import mail

from tandem.notify.services import run_once


def deliver() -> list[mail.EmailMessage]:
    run_once(worker="test-worker")
    return mail.outbox
