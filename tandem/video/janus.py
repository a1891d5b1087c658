"""The server's side of Janus: its admin API (rooms, tokens) and the configuration Janus starts with.

Only the admin API is used from here, so the server needs no Janus token of its own: rooms are created
and destroyed through the admin API's `message_plugin` request to the VideoRoom plugin, and each seat's
token is added with `add_token` (Janus token authentication) and to the room's allowed list.
"""

import hashlib
import hmac
import json
import secrets
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

VIDEOROOM = "janus.plugin.videoroom"
# VideoRoom's answer when a room does not exist (JANUS_VIDEOROOM_ERROR_NO_SUCH_ROOM).
NO_SUCH_ROOM = 426
# Rooms hold the therapists (a co-therapy team) and both partners, each maybe on two devices.
MAX_PUBLISHERS = 8


class JanusError(Exception):
    """Janus did not answer, or refused; the message names no person."""

    def __init__(self, message: str, *, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


def enabled() -> bool:
    return bool(settings.JANUS_URL and settings.JANUS_ADMIN_URL)


def public_origin() -> str:
    """The scheme, host and port browsers reach Janus at (for the page's connect-src)."""
    parts = urlsplit(settings.JANUS_PUBLIC_URL)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def room_secret(janus_room: int) -> str:
    """Each room's secret (needed to destroy it or change its allowed list), derived from the key in
    the environment so that it is stored nowhere."""
    key = settings.JANUS_ROOM_SECRET_KEY.encode()
    return hmac.new(key, f"room:{janus_room}".encode(), hashlib.sha256).hexdigest()


def new_room_number() -> int:
    return secrets.randbelow(2**53 - 2) + 1


def admin_call(payload: dict[str, Any]) -> dict[str, Any]:
    url = settings.JANUS_ADMIN_URL
    if urlsplit(url).scheme not in ("http", "https"):
        raise JanusError("JANUS_ADMIN_URL must be an http(s) address.")
    body = {**payload, "transaction": secrets.token_hex(8), "admin_secret": settings.JANUS_ADMIN_SECRET}
    request = urllib.request.Request(  # noqa: S310 (the scheme is checked above)
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.JANUS_TIMEOUT_SECONDS) as response:  # noqa: S310
            answer: dict[str, Any] = json.load(response)
    except (OSError, ValueError) as exc:
        raise JanusError(f"The video server did not answer ({type(exc).__name__}).") from exc
    if answer.get("janus") != "success":
        error = answer.get("error") or {}
        reason = error.get("reason", "no reason")
        raise JanusError(f"The video server refused: {reason}", code=error.get("code"))
    return answer


def videoroom(request: dict[str, Any]) -> dict[str, Any]:
    answer = admin_call({"janus": "message_plugin", "plugin": VIDEOROOM, "request": request})
    response: dict[str, Any] = answer.get("response") or {}
    if "error_code" in response:
        raise JanusError(f"The video room refused: {response.get('error')}", code=response["error_code"])
    return response


def room_create(janus_room: int) -> None:
    videoroom(
        {
            "request": "create",
            "room": janus_room,
            "admin_key": settings.JANUS_ROOM_ADMIN_KEY,
            "secret": room_secret(janus_room),
            "description": "Tandem session",
            "is_private": True,
            "permanent": False,
            "publishers": MAX_PUBLISHERS,
            "record": False,
            "lock_record": True,
            # An empty allowed list switches the room's token check on: only seats added may join.
            "allowed": [],
            "audiocodec": "opus",
            "videocodec": "vp8",
            "notify_joining": True,
        }
    )


def room_exists(janus_room: int) -> bool:
    return bool(videoroom({"request": "exists", "room": janus_room}).get("exists"))


def room_destroy(janus_room: int) -> None:
    """Destroys the room (everyone in it is sent away); a room Janus no longer has counts as destroyed."""
    try:
        videoroom({"request": "destroy", "room": janus_room, "secret": room_secret(janus_room)})
    except JanusError as exc:
        if exc.code != NO_SUCH_ROOM:
            raise


def token_allow(janus_room: int, token: str) -> None:
    admin_call({"janus": "add_token", "token": token, "plugins": [VIDEOROOM]})
    videoroom(
        {
            "request": "allowed",
            "room": janus_room,
            "secret": room_secret(janus_room),
            "action": "add",
            "allowed": [token],
        }
    )


def token_revoke(token: str) -> None:
    try:
        admin_call({"janus": "remove_token", "token": token})
    except JanusError as exc:
        # 470: JANUS_ERROR_TOKEN_NOT_FOUND (already gone, e.g. after a Janus restart).
        if exc.code != 470:
            raise


@dataclass(frozen=True)
class JanusPorts:
    http_ip: str
    http_port: int
    admin_port: int
    rtp_range: str


def render_config(
    *, ports: JanusPorts, admin_secret: str, room_admin_key: str, allow_origin: str, ice_enforce: str
) -> dict[str, str]:
    """Janus' configuration files (name -> text): the core with token authentication and the admin
    secret, the VideoRoom plugin (rooms only through the API, with its admin key; nothing recorded), and
    the HTTP transport with both APIs on loopback. Every other plugin and transport is switched off."""
    janus = f"""general: {{
\tconfigs_folder = "@FOLDER@"
\tdebug_level = 3
\tserver_name = "Tandem video"
\tadmin_secret = {json.dumps(admin_secret)}
\ttoken_auth = true
\tsession_timeout = 60
\trecordings_tmp_ext = "tmp"
\tprotected_folders = ["/bin", "/boot", "/dev", "/etc", "/lib", "/proc", "/sbin", "/sys", "/usr", "/var"]
}}
media: {{
\trtp_port_range = {json.dumps(ports.rtp_range)}
}}
nat: {{
\tnice_debug = false
{f"	ice_enforce_list = {json.dumps(ice_enforce)}" if ice_enforce else '	ice_ignore_list = "vmnet"'}
}}
plugins: {{
\tdisable = "{",".join(_OTHER_PLUGINS)}"
}}
transports: {{
\tdisable = "{",".join(_OTHER_TRANSPORTS)}"
}}
loggers: {{
\tdisable = "libjanus_jsonlog.so"
}}
events: {{
\tbroadcast = false
}}
"""
    http = f"""general: {{
\tjson = "compact"
\tbase_path = "/janus"
\thttp = true
\tport = {ports.http_port}
\tip = {json.dumps(ports.http_ip)}
\thttps = false
}}
admin: {{
\tadmin_base_path = "/admin"
\tadmin_http = true
\tadmin_port = {ports.admin_port}
\tadmin_ip = "127.0.0.1"
\tadmin_https = false
}}
cors: {{
{f"	allow_origin = {json.dumps(allow_origin)}" if allow_origin else ""}
}}
"""
    room = f"""general: {{
\tadmin_key = {json.dumps(room_admin_key)}
\tlock_rtp_forward = true
\tstring_ids = false
}}
"""
    return {"janus.jcfg": janus, "janus.transport.http.jcfg": http, "janus.plugin.videoroom.jcfg": room}


_OTHER_PLUGINS = [
    "libjanus_audiobridge.so",
    "libjanus_duktape.so",
    "libjanus_echotest.so",
    "libjanus_lua.so",
    "libjanus_nosip.so",
    "libjanus_recordplay.so",
    "libjanus_sip.so",
    "libjanus_streaming.so",
    "libjanus_textroom.so",
    "libjanus_videocall.so",
    "libjanus_voicemail.so",
]
_OTHER_TRANSPORTS = [
    "libjanus_mqtt.so",
    "libjanus_nanomsg.so",
    "libjanus_pfunix.so",
    "libjanus_rabbitmq.so",
    "libjanus_websockets.so",
]
