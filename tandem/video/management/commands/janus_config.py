"""Write the Janus configuration Tandem runs with (`make run`, the tests, production).

    manage.py janus_config --out .janus --secrets-file .janus/secrets.env

The ports come from JANUS_URL and JANUS_ADMIN_URL; the admin secret and the VideoRoom admin key from the
environment, or from --secrets-file, which is generated (random, readable by its owner only) when it does
not exist yet. Start Janus with the printed command.
"""

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tandem.video.janus import JanusPorts, render_config

SECRET_NAMES = ("JANUS_ADMIN_SECRET", "JANUS_ROOM_ADMIN_KEY", "JANUS_ROOM_SECRET_KEY")


def read_secrets(path: Path) -> dict[str, str]:
    """The secrets file's values; a missing file is first written with new random ones."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.writelines(f"{name}={secrets.token_urlsafe(32)}\n" for name in SECRET_NAMES)
    values = {}
    for line in path.read_text().splitlines():
        name, _, value = line.partition("=")
        if name.strip() in SECRET_NAMES:
            values[name.strip()] = value.strip()
    return values


def _port(url: str, what: str) -> int:
    port = urlsplit(url).port
    if port is None:
        raise CommandError(f"{what} must name a port, like http://127.0.0.1:8088/janus")
    return port


class Command(BaseCommand):
    help = "Write Janus' configuration (VideoRoom, token authentication, HTTP on loopback) into a folder."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--out", required=True, help="Folder to write the configuration files into.")
        parser.add_argument("--secrets-file", help="Read (or first generate) the Janus secrets here.")
        parser.add_argument("--rtp-range", default="20000-40000", help="UDP ports for media.")
        parser.add_argument(
            "--allow-origin",
            help="The one web origin browsers may call Janus from (default: PORTAL_BASE_URL's; '*': any).",
        )
        parser.add_argument(
            "--ice-enforce", default="", help="Only gather ICE candidates on these interfaces/addresses."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        values = {name: getattr(settings, name) for name in SECRET_NAMES}
        if options["secrets_file"]:
            values.update(read_secrets(Path(options["secrets_file"])))
        missing = [name for name in SECRET_NAMES if not values.get(name)]
        if missing:
            raise CommandError(f"Set {', '.join(missing)} (or pass --secrets-file).")
        if not settings.JANUS_URL or not settings.JANUS_ADMIN_URL:
            raise CommandError("Set JANUS_URL and JANUS_ADMIN_URL (Janus' API and admin API addresses).")
        ports = JanusPorts(
            http_ip=urlsplit(settings.JANUS_URL).hostname or "127.0.0.1",
            http_port=_port(settings.JANUS_URL, "JANUS_URL"),
            admin_port=_port(settings.JANUS_ADMIN_URL, "JANUS_ADMIN_URL"),
            rtp_range=options["rtp_range"],
        )
        origin = options["allow_origin"]
        if origin is None:
            portal = urlsplit(settings.PORTAL_BASE_URL)
            origin = f"{portal.scheme}://{portal.netloc}" if portal.netloc else ""
        out = Path(options["out"]).resolve()
        out.mkdir(parents=True, exist_ok=True)
        files = render_config(
            ports=ports,
            admin_secret=values["JANUS_ADMIN_SECRET"],
            room_admin_key=values["JANUS_ROOM_ADMIN_KEY"],
            allow_origin="" if origin == "*" else origin,
            ice_enforce=options["ice_enforce"],
        )
        for name, text in files.items():
            path = out / name
            path.write_text(text.replace("@FOLDER@", str(out)))
            path.chmod(0o600)
        self.stdout.write(f"Janus configuration written to {out}; start it with:")
        self.stdout.write(f"janus -C {out}/janus.jcfg -F {out}")
