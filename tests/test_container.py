"""The container image's steps, tested without Docker (this build machine cannot run it): the entrypoint's
`setup` against a fresh database, the workers, and the image's gunicorn command answering /health/."""

import base64
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ENTRYPOINT = ROOT / "docker" / "entrypoint.sh"


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_URL", "CACHE_URL", "DJANGO"))}
    env.update(
        PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}",
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(48),
        AUDIT_HMAC_KEY=secrets.token_urlsafe(48),
        TANDEM_FIELD_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ALLOWED_HOSTS="localhost",
        AUDIT_ANCHOR_PATH=str(tmp_path / "anchors.log"),
        EMAIL_BACKEND="django.core.mail.backends.locmem.EmailBackend",
    )
    return env


def _run(args: list[str], env: dict[str, str], timeout: int = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", str(ENTRYPOINT), *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _image_cmd() -> list[str]:
    """The Dockerfile's CMD (JSON form), as the image runs it."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    found = re.search(r"^CMD (\[.*\])\s*$", text, re.M)
    assert found, "the Dockerfile has a JSON CMD"
    return json.loads(found.group(1))


def _health(port: int) -> tuple[int, dict[str, str]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/health/?format=json", headers={"Host": "localhost"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (http to this machine)
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_entrypoint_setup_then_workers_and_the_web_command_report_healthy(tmp_path):
    env = _env(tmp_path)
    setup = _run(["setup"], env)
    assert setup.returncode == 0, setup.stdout[-2000:] + setup.stderr[-2000:]
    assert "entrypoint: setup done" in setup.stdout
    assert _run(["python", "manage.py", "migrate", "--check"], env).returncode == 0
    # A second setup (every `docker compose up`) changes nothing and succeeds.
    assert _run(["setup"], env).returncode == 0
    for worker in ("notify_worker", "planning_worker"):
        done = _run(["python", "manage.py", worker, "--once"], env)
        assert done.returncode == 0, done.stderr[-2000:]
    cmd = _image_cmd()
    assert cmd[0] == "gunicorn"
    port = _free_port()
    cmd[cmd.index("--bind") + 1] = f"127.0.0.1:{port}"
    cmd[cmd.index("--workers") + 1] = "1"
    web = subprocess.Popen(
        ["sh", str(ENTRYPOINT), *cmd],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        status, report = 0, dict[str, str]()
        # The first request imports every app in the one gunicorn worker: on a loaded CI machine that
        # alone has taken over ten seconds, so wait for the answer (up to two minutes), not for speed.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                status, report = _health(port)
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.5)
        assert status == 200, report
        assert set(report.values()) == {"OK"}
    finally:
        web.terminate()
        output, _ = web.communicate(timeout=30)
    # The access log line the image writes holds no path.
    assert "/health/" not in "\n".join(line for line in output.splitlines() if not line.startswith("{"))


def test_compose_starts_the_database_cache_web_and_both_workers_from_the_entrypoint():
    compose = (ROOT / "compose.yaml").read_text()
    for service in ("db:", "redis:", "setup:", "web:", "notify-worker:", "planning-worker:"):
        assert f"\n  {service}" in compose
    assert 'command: ["setup"]' in compose
    assert 'command: ["python", "manage.py", "notify_worker"]' in compose
    assert 'command: ["python", "manage.py", "planning_worker"]' in compose
    assert "service_completed_successfully" in compose
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["/app/docker/entrypoint.sh"]' in dockerfile
    assert "requirements.lock" in dockerfile and "package-lock.json" in dockerfile
    assert subprocess.run(["sh", "-n", str(ENTRYPOINT)], check=False).returncode == 0
