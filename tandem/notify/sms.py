"""Text messages (SMS): a small backend interface like Django's e-mail backends.

No SMS provider is wired in: the demo and development print texts to the console, tests collect them in
`outbox`. A deployment plugs in its provider by pointing TANDEM_SMS_BACKEND at a class with `send()`.
The channel is off unless TANDEM_SMS_ENABLED is set, so that a client is never offered texts that would
not arrive. Texts carry what the e-mails carry: that there is something to see and a link, nothing more.
"""

import sys
from dataclasses import dataclass
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class TextMessage:
    to: str
    body: str


class SMSBackend(Protocol):
    def send(self, message: TextMessage) -> None: ...


class ConsoleBackend:
    """Prints each text, as Django's console e-mail backend does for e-mail (the number is shortened)."""

    def send(self, message: TextMessage) -> None:
        sys.stdout.write(f"SMS to …{message.to[-4:]}\n{message.body}\n{'-' * 40}\n")
        sys.stdout.flush()


outbox: list[TextMessage] = []


class LocmemBackend:
    """Keeps texts in `outbox`, for tests."""

    def send(self, message: TextMessage) -> None:
        outbox.append(message)


def sms_enabled() -> bool:
    return bool(getattr(settings, "TANDEM_SMS_ENABLED", False))


def send_text(*, to: str, body: str) -> None:
    backend_path = getattr(settings, "TANDEM_SMS_BACKEND", "tandem.notify.sms.ConsoleBackend")
    backend: SMSBackend = import_string(backend_path)()
    backend.send(TextMessage(to=to, body=body.strip()))
