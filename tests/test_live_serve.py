"""`portal serve` as deployed: gunicorn gthread workers hold event streams, notices written by
other processes reach them (the embedded outbox thread, or `portal worker` with Redis), and a
worker told to stop ends its streams instead of waiting out the graceful timeout."""

from __future__ import annotations

import http.client
import http.cookiejar
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from tests.conftest import REDIS_URL, ROOT

BIN = Path(sys.executable).parent
NOTIFY = """
import sys
from sqlalchemy import select
from portal.app import create_app
from portal.models import Person
from portal.notify import Notification, notify

app = create_app()
with app.app_context():
    s = app.extensions["portal"].db.session()
    person = s.scalars(select(Person.id).where(Person.username == sys.argv[2])).one()
    notify(s, Notification(kind="customer.license_changed", title=sys.argv[1],
                           recipients=(person,)))
    s.commit()
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def portal(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(BIN / "portal"), *args], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


@pytest.fixture(params=["embedded", "redis"])
def deployment(request: pytest.FixtureRequest, tmp_path: Path,
               pg_url: str) -> Iterator[dict[str, Any]]:
    """A served portal on PostgreSQL, embedded (one worker, no Redis) or with Redis (two
    workers and a separate `portal worker`)."""
    env = {**os.environ, "PORTAL_DATABASE_URL": pg_url, "PORTAL_SECRET_KEY": "serve-test",
           "PORTAL_LAYOUTS_DIR": str(ROOT / "layouts"), "PORTAL_LIVE_HEARTBEAT": "1"}
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        env["PORTAL_REDIS_URL"] = REDIS_URL
    portal(env, "db", "upgrade")
    portal(env, "demo-data", "--customers", "50", "--seed", "7")
    port = free_port()
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    workers = ["--workers", "2"] if request.param == "redis" else []
    server = subprocess.Popen([str(BIN / "portal"), "serve", "--port", str(port), *workers],
                              env=env, cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT,
                              start_new_session=True)
    helpers = []
    if request.param == "redis":
        helpers.append(subprocess.Popen([str(BIN / "portal"), "worker"], env=env, cwd=tmp_path,
                                        stdout=log, stderr=subprocess.STDOUT))
    base = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(base + "/login", timeout=2).close()
            break
        except OSError:
            time.sleep(0.1)
    try:
        yield {"base": base, "env": env, "server": server, "helpers": helpers,
               "log": tmp_path / "serve.log"}
    finally:
        for proc in [server, *helpers]:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in [server, *helpers]:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL) if proc is server else proc.kill()
        log.close()


def sign_in(base: str, username: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPCookieProcessor(jar))
    with opener.open(base + "/login", timeout=20) as resp:
        html = resp.read().decode()
    token = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert token is not None
    form = urllib.parse.urlencode({"csrf_token": token.group(1), "username": username,
                                   "password": "Portal@2026"}).encode()
    with opener.open(urllib.request.Request(base + "/login", data=form), timeout=30) as resp:
        resp.read()
    return next(c.value for c in jar if c.name == "portal_session")


class SSE:
    """A raw event-stream reader over http.client (what a browser's EventSource does)."""

    def __init__(self, base: str, cookie: str) -> None:
        url = urllib.parse.urlsplit(base)
        self.conn = http.client.HTTPConnection(url.hostname, url.port, timeout=30)
        self.conn.request("GET", "/live/stream", headers={
            "Cookie": f"portal_session={cookie}", "Accept": "text/event-stream"})
        self.resp = self.conn.getresponse()

    def next_event(self) -> dict[str, Any] | None:
        """The next event with data (keep-alives skipped); None when the stream ends."""
        fields: dict[str, str] = {}
        while True:
            line = self.resp.readline()
            if not line:
                return None
            text = line.decode().rstrip("\n")
            if text == "":
                if "data" in fields:
                    return {"event": fields.get("event", "message"),
                            "data": json.loads(fields["data"])}
                fields = {}
            elif not text.startswith(":") and ": " in text:
                key, value = text.split(": ", 1)
                fields[key] = value

    def close(self) -> None:
        self.resp.close()
        self.conn.close()


def test_served_portal_streams_notices_from_other_processes(deployment: dict[str, Any]) -> None:
    base = deployment["base"]
    stream = SSE(base, sign_in(base, "kehu01"))
    try:
        _notice_then_stop(deployment, stream)
    finally:
        stream.close()


def _notice_then_stop(deployment: dict[str, Any], stream: SSE) -> None:
    env = deployment["env"]
    assert stream.resp.status == 200
    assert stream.next_event()["event"] == "hello"  # type: ignore[index]
    done = subprocess.run([sys.executable, "-c", NOTIFY, "客户档位调整：D12 → D14", "kehu01"],
                          env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    event = stream.next_event()
    assert event is not None, deployment["log"].read_text()
    assert event["data"]["title"] == "客户档位调整：D12 → D14"
    assert event["data"]["type"] == "notice"

    # Stopping the server ends the open stream (the browser would reconnect elsewhere) and
    # the server exits by itself, well within its graceful timeout.
    server = deployment["server"]
    server.send_signal(signal.SIGTERM)
    assert stream.next_event() is None
    assert server.wait(timeout=60) == 0
    log = deployment["log"].read_text()
    assert "--threads 72" in log  # 8 for pages + LIVE_STREAMS_PER_PROCESS for streams
    assert "Traceback" not in log
