"""Log lines never hold a secret token from a URL (calendar feeds, password resets, invitation and
consultation links): those addresses are the key to what they open, and logs are read and kept widely.

One list of the secret-bearing URL shapes; `RedactSecretPaths` (a logging filter) rewrites any log
record's message and arguments, and `redact` serves the structured request log.
"""

import logging
import re
from typing import Any

# Each prefix is followed by the secret part (up to the next "/", "?", quote or space).
_SECRET_PATH = re.compile(
    r"(/scheduling/feed/"
    r"|/accounts/password-reset/[^/\s?\"']+/"
    r"|/portal/welcome/"
    r"|/consultation/(?:booked|manage)/)"
    r"[^/\s?\"']+"
)
REDACTED = "[secret]"


def redact(text: str) -> str:
    return _SECRET_PATH.sub(lambda m: m.group(1) + REDACTED, text)


def _clean(value: Any) -> Any:
    return redact(value) if isinstance(value, str) else value


class RedactSecretPaths(logging.Filter):
    """Rewrites the record in place, so every handler after it sees the redacted text."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_clean(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _clean(v) for k, v in record.args.items()}
        return True
