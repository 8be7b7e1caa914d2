"""Sessions across web nodes and restarts: two gunicorn instances on the same PostgreSQL and
Redis; sign in on one, continue on the other, restart it, sign out on the other."""

from __future__ import annotations

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis

from tests.conftest import PASSWORD, REDIS_URL, ROOT, make_app, seed_org

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Node:
    def __init__(self, env: dict[str, str], folder: Path, name: str) -> None:
        self.env, self.folder, self.name = env, folder, name
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        prom = self.folder / f"prom-{self.name}"
        prom.mkdir(exist_ok=True)
        log = open(self.folder / f"{self.name}.log", "ab")  # noqa: SIM115  (closed in stop)
        self._log = log
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "1", "--threads", "2", "--worker-class", "gthread",
             "portal.wsgi:app"],
            env={**self.env, "PROMETHEUS_MULTIPROC_DIR": str(prom)}, cwd=ROOT,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                with urllib.request.urlopen(self.url + "/login", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        pytest.fail(f"{self.name} did not start:\n"
                    + (self.folder / f"{self.name}.log").read_text(errors="replace")[-3000:])

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        self.proc = None
        if getattr(self, "_log", None):
            self._log.close()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class Browser:
    """Cookies and CSRF tokens, like a browser that moves between nodes behind one name."""

    def __init__(self) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.ProxyHandler({}), urllib.request.HTTPCookieProcessor(self.jar),
            NoRedirect())

    def _open(self, req: urllib.request.Request) -> tuple[int, str, str]:
        try:
            with self.opener.open(req, timeout=20) as resp:
                return resp.status, resp.headers.get("Location", ""), resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.headers.get("Location", ""), exc.read().decode()

    def get(self, url: str) -> tuple[int, str, str]:
        return self._open(urllib.request.Request(url))

    def post(self, url: str, form: dict[str, str], token_from: str) -> tuple[int, str, str]:
        _status, _loc, html = self.get(token_from)
        token = re.search(r'name="csrf_token" value="([^"]+)"', html)
        assert token, "no CSRF token on " + token_from
        data = urllib.parse.urlencode({"csrf_token": token.group(1), **form}).encode()
        return self._open(urllib.request.Request(url, data=data, method="POST",
                                                 headers={"Referer": token_from}))


@contextmanager
def nodes(env: dict[str, str], folder: Path) -> Iterator[tuple[Node, Node]]:
    a, b = Node(env, folder, "a"), Node(env, folder, "b")
    try:
        a.start()
        b.start()
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_a_session_started_on_one_node_continues_on_another_and_survives_a_restart(
        pg_url: str, tmp_path: Path) -> None:
    redis.Redis.from_url(REDIS_URL).flushdb()
    app = make_app(pg_url, REDIS_URL=REDIS_URL)
    seed_org(app)
    app.extensions["portal"].db.engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_DATABASE_URL=pg_url, PORTAL_REDIS_URL=REDIS_URL,
               PORTAL_SECRET_KEY="shared-by-every-node", PORTAL_LAYOUTS_DIR=str(ROOT / "layouts"))
    browser = Browser()
    with nodes(env, tmp_path) as (a, b):
        status, location, _html = browser.post(
            a.url + "/login", {"username": "km", "password": PASSWORD}, token_from=a.url + "/login")
        assert (status, location) == (302, "/")
        # Cookies are per host name, not per port: the jar sends it to node b as well.
        status, _loc, html = browser.get(b.url + "/")
        assert status == 200 and "王经理" in html

        a.stop()
        a.start()  # a restart of the node that created the session
        status, _loc, html = browser.get(a.url + "/account/sessions")
        assert status == 200 and "王经理" in html and "本会话" in html

        status, location, _html = browser.post(b.url + "/logout", {}, token_from=b.url + "/")
        assert status == 302 and location.startswith("/login")
        status, location, _html = browser.get(a.url + "/")
        assert status == 302 and location.startswith("/login")
