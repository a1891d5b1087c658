"""Single-use link tokens: a random token goes into the e-mail, only its keyed hash into the database.

Keyed (with SECRET_KEY) so that rows read from a copy of the database cannot be turned back into working
links. Each kind of link has its own namespace, so a token of one kind never matches a row of another.
"""

import secrets

from django.utils.crypto import salted_hmac


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def link_token_hash(namespace: str, token: str) -> str:
    return salted_hmac(namespace, token, algorithm="sha256").hexdigest()
