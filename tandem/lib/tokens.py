"""Single-use link tokens: a random token goes into the e-mail, only its keyed hash into the database.

Keyed (with SECRET_KEY) so that rows read from a copy of the database cannot be turned back into working
links. Each kind of link has its own namespace, so a token of one kind never matches a row of another.
"""

import secrets
from dataclasses import dataclass

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.crypto import salted_hmac


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def link_token_hash(namespace: str, token: str) -> str:
    return salted_hmac(namespace, token, algorithm="sha256").hexdigest()


@dataclass(frozen=True)
class SessionLinkToken:
    """The token of an e-mailed link, moved into the session at once (as Django's password reset does),
    so that it never sits in the address bar, the browser history or a Referer header of the page that
    asks for the password.

    The link's view is served twice: first with the token in its address (`swap` keeps it in the session
    and sends the browser on to the same view with `placeholder` instead), then with the placeholder
    (`held` gives the token back; `forget` drops it once the link is used).
    """

    session_key: str
    placeholder: str

    def arrived(self, token: str) -> bool:
        """Whether this request carries the e-mailed token itself (not yet swapped)."""
        return token != self.placeholder

    def swap(self, request: HttpRequest, token: str, *, url_name: str) -> HttpResponse:
        request.session[self.session_key] = token
        return redirect(url_name, token=self.placeholder)

    def held(self, request: HttpRequest) -> str:
        return str(request.session.get(self.session_key, ""))

    def forget(self, request: HttpRequest) -> None:
        request.session.pop(self.session_key, None)
