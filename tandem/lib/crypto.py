"""Encryption at rest for free-text clinical fields (note bodies, amendments, process notes).

Keys come from the environment (settings.TANDEM_FIELD_KEYS, first = the key new values are written
with). Reading tries every key in the list, so a rotation needs no downtime: put the new key first,
run `manage.py rotate_keys`, then drop the old key. The database alone holds only Fernet tokens.
"""

import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models


@functools.cache
def _fernets(keys: tuple[str, ...]) -> tuple[MultiFernet, Fernet]:
    if not keys:
        raise ImproperlyConfigured(
            "TANDEM_FIELD_KEYS must be set when DEBUG=0 (comma-separated Fernet keys, newest first)."
        )
    try:
        each = [Fernet(key.encode()) for key in keys]
    except ValueError as exc:
        raise ImproperlyConfigured(
            "TANDEM_FIELD_KEYS holds a key that is not a Fernet key (32 url-safe base64-encoded bytes)."
        ) from exc
    return MultiFernet(each), each[0]


def _current() -> tuple[MultiFernet, Fernet]:
    # Read the setting on every call (cached per value) so that tests and rotations can change it.
    return _fernets(tuple(settings.TANDEM_FIELD_KEYS))


def encrypt(text: str) -> str:
    return _current()[0].encrypt(text.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _current()[0].decrypt(token.encode()).decode()
    except InvalidToken as exc:
        # Never fall back to showing the stored value: it is either a token for a lost key or tampered.
        raise ImproperlyConfigured(
            "A stored encrypted value cannot be decrypted with any key in TANDEM_FIELD_KEYS."
        ) from exc


def is_current(token: str) -> bool:
    """Whether the token was written with the first (current) key."""
    try:
        _current()[1].decrypt(token.encode())
    except InvalidToken:
        return False
    return True


def rotate(token: str) -> str:
    """The same plaintext, re-encrypted with the current key (any listed key may have written it)."""
    return _current()[0].rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """A text column that stores a Fernet token and gives back the plaintext.

    Tokens are randomised, so equality lookups on the column are meaningless: never filter on it.
    """

    description = "Text encrypted at rest"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> str | None:
        if value is None:
            return None
        return decrypt(value)

    def get_db_prep_value(self, value: Any, connection: Any, prepared: bool = False) -> Any:
        value = super().get_db_prep_value(value, connection, prepared)
        if value is None:
            return None
        return encrypt(str(value))


def encrypted_fields() -> list[tuple[type[models.Model], list[str]]]:
    """Every concrete model with encrypted columns, and those columns' names (for rotate_keys)."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        if model._meta.proxy or not model._meta.managed:
            continue
        columns = [
            field.column
            for field in model._meta.concrete_fields
            if isinstance(field, EncryptedTextField) and field.model is model and field.column
        ]
        if columns:
            found.append((model, columns))
    return found
