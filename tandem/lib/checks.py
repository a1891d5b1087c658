"""Deployment checks of Tandem's own settings, run by `manage.py check --deploy`."""

from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def tandem_security(app_configs: Any, **kwargs: Any) -> list[Warning]:
    problems = []
    if not settings.TANDEM_STAFF_MFA_REQUIRED:
        problems.append(
            Warning(
                "TANDEM_STAFF_MFA_REQUIRED is off: staff can log in without a second factor.",
                hint="Leave it unset in production; only the demo and tests switch it off.",
                id="tandem.W001",
            )
        )
    if settings.AUDIT_HMAC_KEY.startswith("dev-only") or len(settings.AUDIT_HMAC_KEY) < 32:
        problems.append(
            Warning(
                "AUDIT_HMAC_KEY is the development key or shorter than 32 characters.",
                hint="Set a long random AUDIT_HMAC_KEY in the environment, kept outside the database.",
                id="tandem.W002",
            )
        )
    if settings.SESSION_IDLE_SECONDS > 30 * 60:
        problems.append(Warning("Sessions stay alive for more than 30 idle minutes.", id="tandem.W003"))
    if not settings.TANDEM_FIELD_KEYS:
        problems.append(
            Warning(
                "TANDEM_FIELD_KEYS is not set: clinical notes cannot be encrypted at rest.",
                hint="Set one or more Fernet keys (newest first), kept outside the database.",
                id="tandem.W004",
            )
        )
    return problems
