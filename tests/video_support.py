"""A real Janus for the video tests: started on free loopback ports (8120-8139) with the configuration
`manage.py janus_config` writes, stopped when the session ends. Skipped, saying why, only when the janus
binary is absent (`make test` installs Debian's janus package)."""

import json
import secrets
import shutil
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test import override_settings

PORTS = range(8120, 8140)


@dataclass(frozen=True)
class JanusServer:
    url: str
    admin_url: str
    admin_secret: str
    room_admin_key: str
    room_secret_key: str

    def settings(self) -> dict[str, str]:
        return {
            "JANUS_URL": self.url,
            "JANUS_PUBLIC_URL": self.url,
            "JANUS_ADMIN_URL": self.admin_url,
            "JANUS_ADMIN_SECRET": self.admin_secret,
            "JANUS_ROOM_ADMIN_KEY": self.room_admin_key,
            "JANUS_ROOM_SECRET_KEY": self.room_secret_key,
        }


def _free_ports(count: int) -> list[int]:
    free = []
    for port in PORTS:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            if probe.connect_ex(("127.0.0.1", port)) != 0:
                free.append(port)
        if len(free) == count:
            return free
    pytest.fail(f"no {count} free ports in {PORTS.start}-{PORTS.stop - 1} for a test Janus")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/info", timeout=1) as response:  # noqa: S310 (loopback http)
            return json.load(response).get("janus") == "server_info"
    except OSError:
        return False


def start_janus(folder: Path) -> Iterator[JanusServer]:
    binary = shutil.which("janus")
    if binary is None:
        pytest.skip(
            "the janus binary is not installed (Debian package janus; `make system-deps` installs it)"
        )
    http_port, admin_port = _free_ports(2)
    server = JanusServer(
        url=f"http://127.0.0.1:{http_port}/janus",
        admin_url=f"http://127.0.0.1:{admin_port}/admin",
        admin_secret=secrets.token_urlsafe(24),
        room_admin_key=secrets.token_urlsafe(24),
        room_secret_key=secrets.token_urlsafe(24),
    )
    # Media only over loopback: the browsers in the tests run on this machine.
    with override_settings(**server.settings()):
        call_command(
            "janus_config",
            out=str(folder),
            rtp_range="20000-20999",
            ice_enforce="lo",
            allow_origin="*",
            stdout=StringIO(),
        )
    log = (folder / "janus.log").open("w")
    process = subprocess.Popen(
        [binary, "-C", str(folder / "janus.jcfg"), "-F", str(folder)], stdout=log, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 20
        while not _answers(server.url):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Janus did not start; see {folder / 'janus.log'}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()


@pytest.fixture(scope="session")
def janus_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[JanusServer]:
    yield from start_janus(tmp_path_factory.mktemp("janus"))


@pytest.fixture
def janus(janus_server: JanusServer, settings) -> JanusServer:
    """This test's settings point at the session's Janus."""
    for name, value in janus_server.settings().items():
        setattr(settings, name, value)
    return janus_server
