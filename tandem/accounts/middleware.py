"""Session limits: idle time-out, absolute time-out, and no unverified staff sessions.

Log-in and log-out pages (and the second-factor steps, which belong to no logged-in session yet) are
exempt, as are static files.

Runs on every request, so it is cheap by construction: anonymous requests only read the session, and a
logged-in request uses nothing beyond `request.user`, which AuthenticationMiddleware and OTPMiddleware
load lazily and LoginRequiredMiddleware (next in line) evaluates anyway.
"""

import time
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.utils.functional import LazyObject, empty
from django_otp import DEVICE_ID_SESSION_KEY

from tandem.accounts import services
from tandem.accounts.models import STAFF_ROLES


class ConcreteUserMiddleware:
    """`request.user` as the user object itself from here on.

    AuthenticationMiddleware and OTPMiddleware each wrap it in a lazy object, so each attribute read went
    through two proxies, each raising and catching an AttributeError: a case page and its permission
    checks read it some two thousand times. Every page past the log-in needs the user anyway
    (LoginRequiredMiddleware asks), so the laziness saved nothing.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = request.user
        # A LazyObject keeps what it wraps in `_wrapped` (`empty` until first read): each layer is set up
        # once, just as its proxy would do on the first attribute read.
        while isinstance(user, LazyObject):
            if user._wrapped is empty:
                user._setup()
            user = user._wrapped
        request.user = user
        return self.get_response(request)


class SessionLimitsMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self._exempt: tuple[str, ...] | None = None

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not self._is_exempt(request.path):
            ended = self._enforce(request)
            if ended is not None:
                return ended
        return self.get_response(request)

    def _is_exempt(self, path: str) -> bool:
        if self._exempt is None:
            # Resolved on first use: the URLconf is not loaded yet when middleware is built.
            names = ("accounts:login", "accounts:logout", "accounts:verify")
            self._exempt = tuple(reverse(name) for name in names)
        return path.startswith(settings.STATIC_URL) or path in self._exempt

    def _enforce(self, request: HttpRequest) -> HttpResponse | None:
        session = request.session
        if SESSION_KEY not in session:
            _note_expired_session(request)
            return None
        now = int(time.time())
        reason = services.session_end_reason(session=session, now=now)
        if reason is None and _unverified_staff(request):
            reason = "unverified"
        if reason is not None:
            return _end(request, reason)
        # Loading the user may have flushed the session (password changed elsewhere): then leave it be.
        if SESSION_KEY in session:
            services.touch_session(session=session, now=now)
        return None


def _note_expired_session(request: HttpRequest) -> None:
    """Explain a session that the store already dropped for idleness.

    Where the store's own expiry is not later than the idle limit (SESSION_COOKIE_AGE is a deployment
    setting), the store wins the race against the check above and the browser simply presents a cookie
    for a session that is gone. Nothing else leaves that trace: a log-out deletes the cookie.
    """
    if request.COOKIES.get(settings.SESSION_COOKIE_NAME) and request.session.session_key is None:
        request.session[services.LOGOUT_REASON_KEY] = "idle"


def _unverified_staff(request: HttpRequest) -> bool:
    """Defence in depth: a staff session that did not pass a second factor (made some other way)."""
    if not settings.TANDEM_STAFF_MFA_REQUIRED:
        return False
    user = request.user
    if getattr(user, "role", None) not in STAFF_ROLES:
        return False
    if DEVICE_ID_SESSION_KEY not in request.session:
        return True
    is_verified = getattr(user, "is_verified", None)
    return not (callable(is_verified) and is_verified())


def _end(request: HttpRequest, reason: str) -> HttpResponse:
    services.end_session(request=request, reason=reason)
    login_url = reverse("accounts:login")
    if request.headers.get("HX-Request"):
        # htmx would otherwise swap the log-in page into a fragment of the old page.
        return HttpResponse(status=204, headers={"HX-Redirect": login_url})
    if request.method == "GET":
        return redirect_to_login(request.get_full_path(), login_url)
    # A form posted to a dead session is not replayed after logging in again.
    return HttpResponseRedirect(login_url)
