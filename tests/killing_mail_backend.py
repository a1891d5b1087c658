"""A test e-mail backend that hands each message over (writes it to KILL_MAIL_FILE) and then kills its
own process with SIGKILL: the crash between sending and marking sent, for real."""

import os
import signal

from django.core.mail.backends.base import BaseEmailBackend


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):  # type: ignore[no-untyped-def]
        with open(os.environ["KILL_MAIL_FILE"], "a", encoding="utf-8") as out:
            for message in email_messages:
                out.write(f"{message.extra_headers.get('Message-ID', '')} {message.to[0]}\n")
            out.flush()
            os.fsync(out.fileno())
        os.kill(os.getpid(), signal.SIGKILL)
        return len(email_messages)
