"""Benchmark of the signed-in homepage against a bare Flask "hello" app (the floor).

    .venv/bin/python bench/homepage.py [--rounds 5] [--duration 5] [--no-redis] [--pg]
                                       [--redis-db 15]

It prints figures and never fails on a timing: the machines are shared and noisy, so compare
ratios, not absolutes. It exits non-zero only when the measurement itself is invalid (the
portal does not start, the sign-in fails, the page is not the homepage, wrk is missing).

Steps, all on 127.0.0.1, in a scratch folder that is removed afterwards:

1. A fresh database (SQLite in the scratch folder, or with ``--pg`` a PostgreSQL database it
   creates and drops), Redis db 15 flushed (``--redis-db N`` for another: engineers sharing a
   machine each use their own) (or ``--no-redis``: in-process cache, sessions in
   the database), ``portal db upgrade`` and ``portal demo-data --customers 2000``.
2. Three servers side by side: the floor (a bare Flask "hello" app under gunicorn), the portal
   with its portlet cache warm, and the portal with the cache off
   (``PORTAL_PORTLET_CACHE=false``), both signed in as ``kehu01`` (an account manager).
3. Interleaved rounds of wrk on each (floor, warm, cold, floor, ...): this kind of machine is
   throttled to about a third of its speed a few seconds into a sustained load and recovers
   when idle, so only figures taken side by side compare. Each figure is the median of its
   rounds.
4. Memory: resident size of every portal worker after 10,000 homepage requests.

Both servers run ``gunicorn --workers 2 --worker-class gthread --threads 4`` without an access
log; wrk runs on the same cores as the servers, as the floor was measured on these machines.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import os
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
REDIS_URL = "redis://127.0.0.1:6379/{db}"
USERNAME = "kehu01"
GUNICORN_SETTINGS = ["--workers", "2", "--worker-class", "gthread", "--threads", "4"]
RSS_REQUESTS = 10_000

TARGET_WARM_RATIO = 0.35
TARGET_WARM_P99_MS = 25.0
TARGET_COLD_RATIO = 0.10
TARGET_RSS_MB = 150.0

#: The shell's first message ("skip to content"): a page without it is not the Chinese one,
#: as in a checkout whose catalogues are not compiled; its figures do not compare.
CHINESE_SHELL = "跳到正文"

HELLO_APP = textwrap.dedent(
    '''
    """A bare Flask app: the floor any portal page is compared with."""
    from flask import Flask

    app = Flask(__name__)


    @app.get("/")
    def hello() -> str:
        return "hello"
    '''
)


class BenchError(RuntimeError):
    """The measurement cannot be made or would be meaningless."""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- processes -------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def venv_tool(name: str) -> str:
    """A console script next to this interpreter (``.venv/bin/portal``), else from PATH."""
    local = Path(sys.executable).parent / name
    if local.exists():
        return str(local)
    found = shutil.which(name)
    if not found:
        raise BenchError(f"{name!r} not found: run `make venv` and use .venv/bin/python")
    return found


def run(cmd: list[str], env: dict[str, str], timeout: float, cwd: Path = ROOT) -> str:
    log("$ " + " ".join(cmd))
    try:
        done = subprocess.run(
            cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"{cmd[0]} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise BenchError(
            f"{' '.join(cmd)} failed ({done.returncode}):\n"
            f"{done.stdout[-2000:]}{done.stderr[-4000:]}"
        )
    return done.stdout


@dataclass
class Server:
    name: str
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def workers(self) -> list[int]:
        """PIDs of gunicorn's worker processes (the master's children)."""
        pids: set[int] = set()
        for children in Path(f"/proc/{self.proc.pid}/task").glob("*/children"):
            try:
                pids.update(int(p) for p in children.read_text().split())
            except OSError:
                continue
        return sorted(pids)

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return ""


def _pgrp(pid: int) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return int(stat.rsplit(")", 1)[1].split()[2])  # fields after "(comm)": state ppid pgrp


def stop(server: Server) -> None:
    """SIGTERM gunicorn's process group (a graceful exit), SIGKILL what lingers."""
    proc = server.proc
    workers = server.workers()
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=25)
        except subprocess.TimeoutExpired:
            log(f"{server.name}: still running 25 s after SIGTERM, killing it")
            with suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
    # A worker that outlived its master: only the ones this run started (same process group).
    for pid in workers:
        if _pgrp(pid) == proc.pid:
            with suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@contextmanager
def gunicorn(
    name: str, app: str, env: dict[str, str], scratch: Path, ready_path: str, cwd: Path = ROOT
) -> Iterator[Server]:
    """Start ``gunicorn APP`` on a free port of 127.0.0.1; stop it on exit, whatever happens."""
    port = free_port()
    log_path = scratch / f"{name}.log"
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        "--bind",
        f"{HOST}:{port}",
        *GUNICORN_SETTINGS,
        "--timeout",
        "60",
        "--graceful-timeout",
        "10",
        "--error-logfile",
        str(log_path),
        app,
    ]
    log(f"starting {name}: " + " ".join(cmd[2:]))
    with open(log_path, "ab") as out:
        proc = subprocess.Popen(
            cmd,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(name, proc, port, log_path)
    try:
        wait_ready(server, ready_path)
        yield server
    finally:
        stop(server)


def wait_ready(server: Server, path: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    opener = plain_opener()
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise BenchError(
                f"{server.name} exited ({server.proc.returncode}):\n" + server.log_tail()
            )
        try:
            with opener.open(server.url + path, timeout=5) as resp:
                if resp.status == 200 and len(server.workers()) >= 2:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)
    raise BenchError(
        f"{server.name} did not answer {path} within {timeout:.0f} s:\n" + server.log_tail()
    )


# --- HTTP ------------------------------------------------------------------------------------


def plain_opener(jar: http.cookiejar.CookieJar | None = None) -> urllib.request.OpenerDirector:
    """urllib without proxies: everything here stays on 127.0.0.1."""
    handlers: list[urllib.request.BaseHandler] = [urllib.request.ProxyHandler({})]
    if jar is not None:
        handlers.append(urllib.request.HTTPCookieProcessor(jar))
    return urllib.request.build_opener(*handlers)


CSRF_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE_ATTR = re.compile(r'value="([^"]*)"')


def login_form(html: str, username: str, password: str) -> dict[str, str]:
    """The fields to post to /login, with the CSRF token of the login page *html*."""
    field = CSRF_INPUT.search(html)
    token = VALUE_ATTR.search(field.group(0)) if field else None
    if not token:
        raise BenchError("no csrf_token hidden input in the login form")
    return {"csrf_token": token.group(1), "username": username, "password": password, "next": ""}


def sign_in_client(client: Any, username: str, password: str) -> None:
    """Sign a Flask test client in through the login form, as a browser arriving without a
    cookie (the in-process benchmarks)."""
    client._cookies.clear()
    page = client.get("/login")
    if page.status_code != 200:
        raise BenchError(f"GET /login: {page.status_code}")
    resp = client.post("/login", data=login_form(page.get_data(as_text=True), username, password))
    if resp.status_code != 302 or resp.headers.get("Location") != "/":
        raise BenchError(f"POST /login as {username}: {resp.status_code}")


def sign_in(base: str, username: str, password: str) -> str:
    """Sign in through the login form; return the ``portal_session`` cookie's value."""
    jar = http.cookiejar.CookieJar()
    opener = plain_opener(jar)
    with opener.open(f"{base}/login", timeout=20) as resp:
        html = resp.read().decode("utf-8", "replace")
    form = urllib.parse.urlencode(login_form(html, username, password)).encode()
    req = urllib.request.Request(
        f"{base}/login", data=form, method="POST", headers={"Referer": f"{base}/login"}
    )
    try:
        with opener.open(req, timeout=30) as resp:  # follows the redirect to the homepage
            final = resp.geturl()
    except urllib.error.HTTPError as exc:
        raise BenchError(f"sign-in as {username} failed: HTTP {exc.code}") from None
    cookie = next((c.value for c in jar if c.name == "portal_session" and c.value), None)
    if cookie is None or urllib.parse.urlsplit(final).path.startswith("/login"):
        raise BenchError(
            f"sign-in as {username} failed (ended on {final}); "
            "is PORTAL_DEMO_PASSWORD the demo data's password?"
        )
    return cookie


@dataclass
class Homepage:
    size: int
    windows: int
    lazy: int
    errors: int
    notices: bool


WINDOW = re.compile(r'class="window[ "]')


def check_homepage(base: str, cookie: str, warmup: int) -> Homepage:
    """GET / with the session cookie only (as wrk sends it): it must be the homepage."""
    opener = plain_opener()
    html = ""
    for _ in range(max(1, warmup)):
        req = urllib.request.Request(f"{base}/", headers={"Cookie": f"portal_session={cookie}"})
        try:
            with opener.open(req, timeout=30) as resp:
                status, final = resp.status, resp.geturl()
                html = resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as exc:
            raise BenchError(f"GET / with the session cookie: HTTP {exc.code}") from None
        if status != 200 or urllib.parse.urlsplit(final).path != "/":
            raise BenchError(f"GET / with the session cookie: {status}, ended on {final}")
        if 'name="password"' in html:
            raise BenchError("GET / with the session cookie shows the login form")
    return Homepage(
        size=len(html.encode()),
        windows=len(WINDOW.findall(html)),
        lazy=html.count('class="loading"'),
        errors=html.count('class="window-error"'),
        notices="工作通知" in html or "Work notices" in html,
    )


# --- wrk -------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    label: str
    rps: float
    p50_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(value: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m)", value.strip())
    if not m:
        raise BenchError(f"cannot read wrk latency {value!r}")
    return float(m.group(1)) * _UNITS_MS[m.group(2)]


def parse_wrk(label: str, output: str) -> WrkResult:
    def find(pattern: str) -> str:
        m = re.search(pattern, output, re.M)
        if not m:
            raise BenchError(f"unexpected wrk output (no {pattern!r}):\n{output}")
        return m.group(1)

    errors = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    non_2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        label=label,
        rps=float(find(r"^Requests/sec:\s+([\d.]+)")),
        p50_ms=_ms(find(r"^\s+50%\s+(\S+)")),
        p99_ms=_ms(find(r"^\s+99%\s+(\S+)")),
        requests=int(find(r"^\s+(\d+) requests in ")),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(g) for g in errors.groups()) if errors else 0,
    )


def wrk(
    label: str,
    url: str,
    args: argparse.Namespace,
    cookie: str | None = None,
    extra: list[str] | None = None,
    duration: float | None = None,
) -> WrkResult:
    seconds = args.duration if duration is None else duration
    cmd = [
        "wrk",
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{int(seconds)}s",
        "--latency",
        "--timeout",
        "5s",
    ]
    if cookie:
        cmd += ["-H", f"Cookie: portal_session={cookie}"]
    cmd += [*(extra or []), url]
    shown = [("Cookie: portal_session=…" if c.startswith("Cookie:") else c) for c in cmd]
    log("$ " + " ".join(shown))
    try:
        done = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=seconds + 60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired:
        raise BenchError(f"wrk did not finish within {seconds + 60:.0f} s") from None
    if done.returncode != 0:
        raise BenchError(f"wrk failed ({done.returncode}): {done.stderr}{done.stdout}")
    result = parse_wrk(label, done.stdout)
    if result.non_2xx or result.socket_errors:
        log(
            f"{label}: {result.non_2xx} non-2xx/3xx responses, {result.socket_errors} socket errors"
        )
    return result


# --- memory ----------------------------------------------------------------------------------


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


# --- the benchmark ---------------------------------------------------------------------------


@contextmanager
def database(args: argparse.Namespace, scratch: Path) -> Iterator[str]:
    if not args.pg:
        yield f"sqlite:///{scratch / 'portal.db'}"
        return
    import psycopg

    name = f"portal_bench_{secrets.token_hex(5)}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    log(f"created PostgreSQL database {name}")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        log(f"dropped PostgreSQL database {name}")


def redis_url(args: argparse.Namespace) -> str:
    return REDIS_URL.format(db=args.redis_db)


def flush_redis(args: argparse.Namespace) -> None:
    import redis

    url = redis_url(args)
    client = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
    try:
        client.flushdb()
    except redis.RedisError as exc:
        raise BenchError(
            f"Redis at {url}: {exc} (run scripts/services.sh ensure, or pass --no-redis)"
        ) from None
    finally:
        client.close()


def base_env(scratch: Path, db_url: str, args: argparse.Namespace) -> dict[str, str]:
    # A developer's own PORTAL_* settings must not change what is measured.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(
        PORTAL_DATABASE_URL=db_url,
        PORTAL_SECRET_KEY=secrets.token_urlsafe(32),
        PORTAL_LAYOUTS_DIR=str(ROOT / "layouts"),
        PORTAL_DEMO_PASSWORD=args.password,
        PYTHONDONTWRITEBYTECODE="1",
    )
    if not args.no_redis:
        env["PORTAL_REDIS_URL"] = redis_url(args)
    return env


def portal_env(env: dict[str, str], scratch: Path, tag: str, **settings: str) -> dict[str, str]:
    # Several workers: prometheus-client's multiprocess mode, as `portal serve` sets it up.
    prom = scratch / f"prom-{tag}"
    prom.mkdir(exist_ok=True)
    return {**env, "PROMETHEUS_MULTIPROC_DIR": str(prom), **settings}


def measure_portal(
    label: str,
    env: dict[str, str],
    scratch: Path,
    args: argparse.Namespace,
    info: dict[str, Homepage],
) -> WrkResult:
    with gunicorn(label, "portal.wsgi:app", env, scratch, "/login") as server:
        cookie = sign_in(server.url, USERNAME, args.password)
        page = check_homepage(server.url, cookie, args.warmup)
        info[label] = page
        log(
            f"{label}: homepage of {USERNAME}: {page.size} bytes, {page.windows} windows "
            f"({page.lazy} lazy, {page.errors} errors)"
        )
        return wrk(label, server.url + "/", args, cookie)


def measure_rss(
    env: dict[str, str], scratch: Path, args: argparse.Namespace, rps_hint: float
) -> tuple[dict[int, tuple[float, float]], float, int]:
    """Per worker: (RSS after warm-up, RSS after ``--rss-requests`` homepage requests)."""
    with gunicorn("portal-rss", "portal.wsgi:app", env, scratch, "/login") as server:
        cookie = sign_in(server.url, USERNAME, args.password)
        check_homepage(server.url, cookie, args.warmup)
        before = {pid: rss_mb(pid) for pid in server.workers()}
        # wrk cannot stop after N requests: run it for the time N should take at the rate
        # measured before, and again until the count is reached (bounded).
        served, rate = 0, max(rps_hint, 20.0)
        for _ in range(5):
            missing = args.rss_requests - served
            if missing <= 0:
                break
            seconds = min(300, max(2, int(missing / rate * 1.15) + 1))
            result = wrk("portal-rss", server.url + "/", args, cookie, duration=seconds)
            if result.non_2xx or result.socket_errors:
                raise BenchError(
                    f"memory run: {result.non_2xx} non-2xx/3xx responses, "
                    f"{result.socket_errors} socket errors"
                )
            served += result.requests
            rate = max(result.rps, 20.0)
        after = {pid: rss_mb(pid) for pid in server.workers()}
        master = rss_mb(server.proc.pid)
    rss = {pid: (before.get(pid, float("nan")), mb) for pid, mb in after.items()}
    return rss, master, served


# --- report ----------------------------------------------------------------------------------


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _median(results: list[WrkResult]) -> WrkResult:
    """The median of each figure over the rounds; error counts are added up."""
    return WrkResult(
        label=results[0].label,
        rps=statistics.median(r.rps for r in results),
        p50_ms=statistics.median(r.p50_ms for r in results),
        p99_ms=statistics.median(r.p99_ms for r in results),
        requests=sum(r.requests for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        socket_errors=sum(r.socket_errors for r in results),
    )


def report(
    args: argparse.Namespace,
    floor: WrkResult,
    warm: WrkResult,
    cold: WrkResult,
    pages: dict[str, Homepage],
    rss: tuple[dict[int, tuple[float, float]], float, int] | None,
) -> None:
    mode = ("PostgreSQL" if args.pg else "SQLite") + (
        ", in-process cache" if args.no_redis else ", Redis cache and sessions"
    )
    page = pages.get("portal-warm")
    print()
    print(
        f"Homepage benchmark — {mode}; gunicorn {' '.join(GUNICORN_SETTINGS)}; "
        f"wrk -t{args.threads} -c{args.connections} -d{args.duration}s on {os.cpu_count()} "
        "cores (same machine)"
    )
    if page:
        print(
            f"Page: {USERNAME}'s homepage, {page.size:,} bytes, {page.windows} portlet windows "
            f"({page.lazy} lazy-loaded, {page.errors} in error), "
            f"工作通知 {'present' if page.notices else 'ABSENT'}"
        )
    print()
    head = f"{'':<22}{'requests/s':>12}{'p50 ms':>10}{'p99 ms':>10}{'of floor':>11}  target"
    print(head)
    print("-" * (len(head) + 34))
    floor_warm = floor_cold = floor
    rows = [
        (floor, floor, "floor (bare Flask)", ""),
        (
            warm,
            floor_warm,
            "portal, cache warm",
            f">= {_pct(TARGET_WARM_RATIO)} and p99 <= {TARGET_WARM_P99_MS:.0f} ms: "
            + (
                "met"
                if warm.rps >= TARGET_WARM_RATIO * floor_warm.rps
                and warm.p99_ms <= TARGET_WARM_P99_MS
                else "NOT met"
            ),
        ),
        (
            cold,
            floor_cold,
            "portal, cache off",
            f">= {_pct(TARGET_COLD_RATIO)}: "
            + ("met" if cold.rps >= TARGET_COLD_RATIO * floor_cold.rps else "NOT met"),
        ),
    ]
    for r, floor, label, target in rows:
        ratio = _pct(r.rps / floor.rps) if floor.rps else "-"
        print(f"{label:<22}{r.rps:>12,.0f}{r.p50_ms:>10.2f}{r.p99_ms:>10.2f}{ratio:>11}  {target}")
        if r.non_2xx or r.socket_errors:
            print(
                f"{'':<22}  ! {r.non_2xx} non-2xx/3xx responses, {r.socket_errors} socket errors "
                f"out of {r.requests:,}: this row is not valid"
            )
    if rss is not None:
        workers, master, served = rss
        print()
        print(
            f"Memory after {served:,} homepage requests (target: <= {TARGET_RSS_MB:.0f} MB "
            f"per worker):"
        )
        for pid, (before, after) in sorted(workers.items()):
            verdict = "met" if after <= TARGET_RSS_MB else "NOT met"
            print(f"  worker {pid}: {after:7.1f} MB  (after warm-up {before:.1f} MB)  {verdict}")
        print(f"  master: {master:7.1f} MB")
    print()
    print("Figures only: the machine is shared and noisy, compare ratios, not absolutes.")


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run (5)")
    parser.add_argument("--rounds", type=int, default=5,
                        help="interleaved rounds of floor, warm and cold; medians are reported (5)")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (2)")
    parser.add_argument(
        "--no-redis",
        action="store_true",
        help="in-process cache and sessions in the database, no Redis",
    )
    parser.add_argument(
        "--redis-db",
        type=int,
        default=15,
        help="Redis database number, flushed before and after the run (15)",
    )
    parser.add_argument(
        "--pg",
        action="store_true",
        help="a fresh PostgreSQL database on 127.0.0.1:5432 instead of SQLite",
    )
    parser.add_argument("--customers", type=int, default=2000, help="demo retailers (2000)")
    parser.add_argument("--warmup", type=int, default=20, help="requests before measuring (20)")
    parser.add_argument(
        "--rss-requests",
        type=int,
        default=RSS_REQUESTS,
        help=f"homepage requests before reading worker memory ({RSS_REQUESTS})",
    )
    parser.add_argument("--skip-rss", action="store_true", help="skip the memory measurement")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    args = parser.parse_args(argv)
    args.password = os.environ.get("PORTAL_DEMO_PASSWORD") or "Portal@2026"
    if args.duration < 1 or args.connections < args.threads or args.threads < 1:
        parser.error("need --duration >= 1 and --connections >= --threads >= 1")
    return args


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    if not shutil.which("wrk"):
        log("wrk not found: install the Debian package wrk (scripts/install-system.sh)")
        return 2
    scratch = Path(tempfile.mkdtemp(prefix="portal-bench-"))
    log(f"scratch folder {scratch}")
    started = time.monotonic()
    try:
        with database(args, scratch) as db_url:
            if not args.no_redis:
                flush_redis(args)
            env = base_env(scratch, db_url, args)
            portal = venv_tool("portal")
            run([portal, "db", "upgrade"], env, timeout=300)
            out = run([portal, "demo-data", "--customers", str(args.customers)], env, timeout=900)
            log(out.strip().splitlines()[-1] if out.strip() else "demo data loaded")

            (scratch / "hello_app.py").write_text(HELLO_APP)
            hello_env = {k: v for k, v in env.items() if not k.startswith("PORTAL_")}

            # This kind of machine runs a burst fast after being idle and is throttled to a
            # steady rate (about a third) a few seconds into a sustained load, and back and
            # forth. So the three servers run side by side and are measured in interleaved
            # rounds (floor, warm, cold, floor, warm, cold, ...): each figure is the median of
            # its rounds, all taken under the same conditions.
            pages: dict[str, Homepage] = {}
            with ExitStack() as stack:
                hello = stack.enter_context(
                    gunicorn("floor", "hello_app:app", hello_env, scratch, "/", cwd=scratch))
                targets: dict[str, tuple[str, str | None]] = {"floor": (hello.url + "/", None)}
                for label, extra in (("portal-warm", {}),
                                     ("portal-cold", {"PORTAL_PORTLET_CACHE": "false"})):
                    server = stack.enter_context(gunicorn(
                        label, "portal.wsgi:app",
                        portal_env(env, scratch, label.split("-")[1], **extra), scratch,
                        "/login"))
                    cookie = sign_in(server.url, USERNAME, args.password)
                    pages[label] = page = check_homepage(server.url, cookie, args.warmup)
                    log(f"{label}: homepage of {USERNAME}: {page.size} bytes, "
                        f"{page.windows} windows ({page.lazy} lazy, {page.errors} errors)")
                    targets[label] = (server.url + "/", cookie)
                rounds: dict[str, list[WrkResult]] = {label: [] for label in targets}
                for n in range(args.rounds):
                    for label, (url, session_cookie) in targets.items():
                        result = wrk(label, url, args, session_cookie)
                        rounds[label].append(result)
                    log(f"round {n + 1}: " + ", ".join(
                        f"{label} {rounds[label][-1].rps:,.0f}" for label in targets))
            floor = _median(rounds["floor"])
            warm = _median(rounds["portal-warm"])
            cold = _median(rounds["portal-cold"])
            rss = None
            if not args.skip_rss:
                rss = measure_rss(portal_env(env, scratch, "rss"), scratch, args, warm.rps)
            if not args.no_redis:
                flush_redis(args)
        report(args, floor, warm, cold, pages, rss)
        log(f"done in {time.monotonic() - started:.0f} s")
        return 0
    except BenchError as exc:
        log(f"FAILED: {exc}")
        return 1
    finally:
        if args.keep:
            log(f"kept {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
