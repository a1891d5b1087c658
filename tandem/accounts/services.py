"""Log-in, second factor, sessions and passwords: the rules behind the account views and middleware.

Staff log in in two steps. The password step never calls `login()` for a user who still owes a second
factor: it parks the user id in the session for a few minutes ("pending log-in"), and only the
second-factor step (or the first-time enrolment) turns the session into an authenticated one.
"""

import enum
import re
import time
from base64 import b32encode
from binascii import unhexlify
from dataclasses import dataclass
from typing import Any

import qrcode
import qrcode.image.svg
from axes.handlers.proxy import AxesProxyHandler
from django.conf import settings
from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.http import HttpRequest
from django.utils.crypto import salted_hmac
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import SafeString, mark_safe
from django_otp import login as otp_login
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from tandem.accounts.models import STAFF_ROLES, User
from tandem.audit.actors import SIGN_IN
from tandem.audit.services import audit_record

PENDING_LOGIN_KEY = "tandem.pending_login"
SETUP_KEY = "tandem.totp_setup_key"
FRESH_CODES_KEY = "tandem.fresh_recovery_codes"
LOGIN_AT_KEY = "tandem.login_at"
LAST_SEEN_KEY = "tandem.last_seen"
LOGOUT_REASON_KEY = "tandem.logout_reason"

PENDING_LOGIN_SECONDS = 5 * 60
RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"

_TOTP_SHAPE = re.compile(r"^\d{6,8}$")


class CodeCheck(enum.Enum):
    OK = "ok"
    WRONG = "wrong"
    # django-otp refuses to check any code for a few seconds after a wrong one.
    THROTTLED = "throttled"


@dataclass(frozen=True)
class PendingLogin:
    user: User
    backend: str
    next_url: str


@dataclass(frozen=True)
class SecondFactorStatus:
    totp: TOTPDevice | None
    recovery_codes_left: int


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    qr_svg: SafeString


# --- Small helpers ---------------------------------------------------------------------------------


def needs_second_factor(user: Any) -> bool:
    """The single switch: staff owe a second factor exactly when TANDEM_STAFF_MFA_REQUIRED is on."""
    return bool(settings.TANDEM_STAFF_MFA_REQUIRED) and getattr(user, "role", None) in STAFF_ROLES


def username_hash(username: str) -> str:
    """A keyed hash lets an auditor group attempts on one name without the log holding the name."""
    digest = salted_hmac(
        "tandem.accounts.username",
        username.strip().casefold(),
        secret=settings.AUDIT_HMAC_KEY,
        algorithm="sha256",
    )
    return digest.hexdigest()[:32]


def safe_next(*, request: HttpRequest, candidate: str | None) -> str:
    """The `next` target if it stays on this site, otherwise the empty string."""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return ""


def _now() -> int:
    return int(time.time())


def is_locked_out(*, request: HttpRequest, username: str) -> bool:
    return not AxesProxyHandler.is_allowed(request, {"username": username})


# --- Password step ---------------------------------------------------------------------------------


def check_password(*, request: HttpRequest, username: str, password: str) -> User | None:
    """Authenticate through axes (which refuses locked-out pairs) and audit a failure without the name.

    An attempt refused because of the lock-out is a failed log-in too; the lock-out page adds its own
    event.
    """
    user = authenticate(request, username=username, password=password)
    if user is not None:
        return user  # type: ignore[return-value]
    audit_record(
        actor=SIGN_IN,
        action="auth.login_failed",
        detail={"stage": "password", "username_hash": username_hash(username)},
    )
    return None


def _end_other_login(*, request: HttpRequest, user: User) -> None:
    # Someone else's session in this browser ends (audited) before a new person logs in.
    if request.user.is_authenticated and request.user.pk != user.pk:
        log_out(request=request, reason="new_login")


def start_pending_login(*, request: HttpRequest, user: User, next_url: str) -> None:
    _end_other_login(request=request, user=user)
    # A fresh key: an identifier planted before the password step must not carry the half-done log-in.
    request.session.cycle_key()
    request.session[PENDING_LOGIN_KEY] = {
        "user_id": user.pk,
        "backend": getattr(user, "backend", settings.AUTHENTICATION_BACKENDS[-1]),
        "started": _now(),
        "next": next_url,
        # Changing the password (e.g. a reset) during the few minutes voids the half-done log-in.
        "auth_hash": user.get_session_auth_hash(),
    }


def pending_login(*, request: HttpRequest) -> PendingLogin | None:
    """The user who passed the password step in this session, if that was recent and still valid."""
    data = request.session.get(PENDING_LOGIN_KEY)
    if not isinstance(data, dict):
        return None
    if _now() - int(data.get("started", 0)) > PENDING_LOGIN_SECONDS:
        clear_pending_login(request=request)
        return None
    user = User.objects.filter(pk=int(data.get("user_id", 0)), is_active=True).first()
    if user is None or user.get_session_auth_hash() != data.get("auth_hash"):
        clear_pending_login(request=request)
        return None
    return PendingLogin(user=user, backend=data["backend"], next_url=data.get("next", ""))


def clear_pending_login(*, request: HttpRequest) -> None:
    request.session.pop(PENDING_LOGIN_KEY, None)


def complete_login(
    *, request: HttpRequest, user: User, backend: str, device: Device | None, method: str
) -> None:
    """Turn the session into a logged-in one (new session id) and mark it verified by `device`."""
    clear_pending_login(request=request)
    _end_other_login(request=request, user=user)
    login(request, user, backend=backend)
    if device is not None:
        otp_login(request, device)
    now = _now()
    request.session[LOGIN_AT_KEY] = now
    request.session[LAST_SEEN_KEY] = now
    audit_record(actor=user, action="auth.login", detail={"second_factor": method})


# --- Second factor ---------------------------------------------------------------------------------


def confirmed_totp(*, user: User) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).order_by("-pk").first()


def second_factor_status(*, user: User) -> SecondFactorStatus:
    codes = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
    return SecondFactorStatus(totp=confirmed_totp(user=user), recovery_codes_left=codes)


def verify_totp(*, user: User, code: str) -> tuple[CodeCheck, TOTPDevice | None]:
    code = "".join(code.split())
    # The row lock makes two simultaneous uses of one code queue up: the second then sees last_t
    # already advanced and fails, so a code cannot be replayed even in a race.
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True).order_by("-pk").first()
        )
        if device is None or not _TOTP_SHAPE.match(code):
            return CodeCheck.WRONG, None
        if not device.verify_is_allowed()[0]:
            return CodeCheck.THROTTLED, None
        if device.verify_token(code):
            return CodeCheck.OK, device
    return CodeCheck.WRONG, None


def use_recovery_code(*, user: User, code: str) -> tuple[CodeCheck, StaticDevice | None]:
    code = re.sub(r"[\s-]", "", code).lower()
    with transaction.atomic():
        device = StaticDevice.objects.select_for_update().filter(user=user, confirmed=True).first()
        if device is None or not code:
            return CodeCheck.WRONG, None
        if not device.verify_is_allowed()[0]:
            return CodeCheck.THROTTLED, None
        # verify_token deletes the matching code, so each one works once.
        if not device.verify_token(code):
            return CodeCheck.WRONG, None
        left = device.token_set.count()
        audit_record(actor=user, action="auth.recovery_code_used", detail={"codes_left": left})
    return CodeCheck.OK, device


def second_factor_failed(*, request: HttpRequest, user: User, stage: str) -> None:
    """A wrong code is a failed log-in: axes counts it towards the (user name, address) lock-out."""
    username = user.get_username()
    user_login_failed.send(sender=__name__, credentials={"username": username}, request=request)
    audit_record(actor=user, action="auth.login_failed", detail={"stage": stage})


def setup_key(*, session: Any, user: User) -> str:
    """The secret being set up in this session, kept until confirmed so that reloading shows the same one."""
    held = session.get(SETUP_KEY)
    if isinstance(held, dict) and held.get("user_id") == user.pk:
        return str(held["key"])
    key = random_hex(20)
    session[SETUP_KEY] = {"user_id": user.pk, "key": key}
    return key


def forget_setup_key(*, session: Any) -> None:
    session.pop(SETUP_KEY, None)


def totp_setup(*, user: User, key: str) -> TotpSetup:
    """What an authenticator app needs: the otpauth URL as an inline SVG QR code, and the secret as text."""
    device = TOTPDevice(user=user, key=key, name=TOTP_DEVICE_NAME)
    image = qrcode.make(
        device.config_url, image_factory=qrcode.image.svg.SvgPathFillImage, box_size=10, border=2
    )
    svg = image.to_string(encoding="unicode")
    secret = b32encode(unhexlify(key)).decode()
    grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
    # The SVG is generated here from our own data (no user-supplied markup), so it is safe to inline.
    return TotpSetup(secret=grouped, qr_svg=mark_safe(svg))  # noqa: S308


def confirm_totp(*, user: User, key: str, code: str) -> TOTPDevice | None:
    """Check the first code from a new authenticator; on success it replaces any earlier one."""
    code = "".join(code.split())
    if not _TOTP_SHAPE.match(code):
        return None
    candidate = TOTPDevice(user=user, key=key, name=TOTP_DEVICE_NAME, confirmed=True)
    totp = TOTP(candidate.bin_key, candidate.step, candidate.t0, candidate.digits, candidate.drift)
    totp.time = time.time()
    if not totp.verify(int(code), candidate.tolerance):
        return None
    # Remember the step just used, so the code typed to confirm cannot be replayed to log in.
    candidate.last_t = totp.t()
    candidate.drift = totp.drift
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        candidate.save()
        audit_record(actor=user, action="auth.mfa_enrolled", detail={"device": "totp"})
    return candidate


def _issue_recovery_codes(*, user: User) -> list[str]:
    device = StaticDevice.objects.select_for_update().filter(user=user).first()
    if device is None:
        device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
    return codes


def regenerate_recovery_codes(*, user: User) -> list[str]:
    """Ten new codes; every earlier one stops working."""
    with transaction.atomic():
        codes = _issue_recovery_codes(user=user)
        audit_record(actor=user, action="auth.recovery_codes_regenerated", detail={"count": len(codes)})
    return codes


def replace_authenticator(*, request: HttpRequest, user: User, key: str, code: str) -> TOTPDevice | None:
    """Set up (or swap) the authenticator of a logged-in user and keep this session verified with it."""
    device = confirm_totp(user=user, key=key, code=code)
    if device is not None:
        # The old device is gone, so sessions verified with it stop counting as verified; this one
        # moves over to the new device.
        otp_login(request, device)
    return device


def refuse_without_second_factor(*, user: User) -> None:
    """The right password of a staff member who has no authenticator: no log-in and no enrolment."""
    audit_record(actor=user, action="auth.login_failed", detail={"stage": "no_second_factor"})


def reset_second_factor(*, actor: Any, user: User) -> None:
    """Remove a lost authenticator and its recovery codes; the user then needs a set-up link from the
    director (accounts.staff.staff_reset_link) to enrol again: a password alone does not.

    Sessions verified with the removed devices stop counting as verified, so the middleware ends them.
    """
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        StaticDevice.objects.filter(user=user).delete()
        audit_record(actor=actor, action="auth.mfa_reset", target=user, detail={})


def reauthenticate(*, request: HttpRequest, user: User, password: str) -> bool:
    """Re-check the password of the logged-in user before a security change, through the lock-out."""
    again = authenticate(request, username=user.get_username(), password=password)
    if again is not None and again.pk == user.pk:
        return True
    audit_record(actor=user, action="auth.login_failed", detail={"stage": "reauthenticate"})
    return False


# --- Passwords, log-out, lock-out --------------------------------------------------------------------


def change_password(*, request: HttpRequest, form: PasswordChangeForm) -> User:
    """Save the new password; this session stays, every other session of the user ends."""
    user = form.save()
    update_session_auth_hash(request, user)
    audit_record(actor=user, action="auth.password_changed", detail={"by": "self"})
    return user  # type: ignore[return-value]


def record_password_reset(*, user: User) -> None:
    audit_record(actor=user, action="auth.password_reset", detail={})


def record_admin_password_change(*, actor: Any, user: User) -> None:
    audit_record(actor=actor, action="auth.password_changed", target=user, detail={"by": "admin"})


def log_out(*, request: HttpRequest, reason: str) -> None:
    user = request.user if request.user.is_authenticated else None
    if user is not None:
        audit_record(actor=user, action="auth.logout", detail={"reason": reason})
    logout(request)


def record_lockout(*, request: HttpRequest, username: str) -> None:
    clear_pending_login(request=request)
    audit_record(actor=SIGN_IN, action="auth.locked_out", detail={"username_hash": username_hash(username)})


# --- Session limits --------------------------------------------------------------------------------


def session_end_reason(*, session: Any, now: int) -> str | None:
    """Why a logged-in session must end now ("idle", "absolute"), or None. Reads the session only."""
    last_seen = session.get(LAST_SEEN_KEY)
    if last_seen is not None and now - int(last_seen) > settings.SESSION_IDLE_SECONDS:
        return "idle"
    login_at = session.get(LOGIN_AT_KEY)
    if login_at is not None and now - int(login_at) > settings.SESSION_ABSOLUTE_SECONDS:
        return "absolute"
    return None


def touch_interval() -> int:
    """How stale the last-seen time may get before a request writes it again: a tenth of the idle limit,
    at most a minute. Writing it on every request made every page (and every poll of the video waiting
    room) write the session row; this way a session may end up to that much before the idle limit."""
    return max(1, min(60, settings.SESSION_IDLE_SECONDS // 10))


def touch_session(*, session: Any, now: int) -> None:
    """Note activity. The session is only written (SESSION_SAVE_EVERY_REQUEST is off) when this changes
    it: on the first request of a session made some other way (force_login, a shell), which starts both
    clocks, and when the last-seen time is older than `touch_interval()`."""
    session.setdefault(LOGIN_AT_KEY, now)
    last_seen = session.get(LAST_SEEN_KEY)
    if last_seen is None or now - int(last_seen) >= touch_interval():
        session[LAST_SEEN_KEY] = now


def end_session(*, request: HttpRequest, reason: str) -> None:
    """Log out for a session limit and leave the reason for the log-in page to explain."""
    log_out(request=request, reason=reason)
    request.session[LOGOUT_REASON_KEY] = reason
