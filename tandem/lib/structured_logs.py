"""Structured JSON logs (structlog, with django-structlog's request middleware): one JSON object per line,
each request's lines sharing a `request_id`.

No personal data: the client's address, user agent and user id that django-structlog can add are left
out, and paths with a secret token are redacted (tandem.lib.logredact). Log lines from the standard
library (Django, the development server, gunicorn) come out as the same JSON.
"""

import logging
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from tandem.lib.logredact import redact

_PERSONAL = ("ip", "user_agent", "user_id", "user")


def scrub(logger: Any, method: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A structlog processor: drop who the client is, redact secret paths in any text value."""
    for key in _PERSONAL:
        event.pop(key, None)
    for key, value in event.items():
        if isinstance(value, str):
            event[key] = redact(value)
    return event


_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


class StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever sys.stderr is when a line is logged, not what it was at start-up (test runners
    and management commands swap it; a stream captured once may be closed by the time it is used)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> object:
        return sys.stderr

    @stream.setter
    def stream(self, value: object) -> None:
        pass


def configure_structlog() -> None:
    structlog.configure(
        processors=[
            *_SHARED,
            structlog.processors.format_exc_info,
            scrub,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def logging_config(*, level: str) -> dict[str, Any]:
    """LOGGING for settings.py: every record through the redaction filter and out as one JSON line."""
    redacting = ["redact_secret_paths"]
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"redact_secret_paths": {"()": "tandem.lib.logredact.RedactSecretPaths"}},
        "formatters": {
            "json": {
                "()": structlog.stdlib.ProcessorFormatter,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    scrub,
                    structlog.processors.JSONRenderer(sort_keys=True),
                ],
                "foreign_pre_chain": [*_SHARED, structlog.stdlib.ExtraAdder(("status_code",))],
            }
        },
        "handlers": {"console": {"()": StderrHandler, "formatter": "json", "filters": redacting}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "axes": {"level": "WARNING"},
            # Django's own request loggers print paths; they go through the same console as JSON.
            "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
            "django.server": {"handlers": ["console"], "filters": redacting, "propagate": False},
            "django.request": {"filters": redacting},
            "django_structlog": {"level": "INFO"},
        },
    }
