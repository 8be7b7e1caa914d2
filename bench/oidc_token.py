"""Benchmark of the OpenID Connect token endpoint against a bare-Flask floor.

    .venv/bin/python bench/oidc_token.py [--rounds 3] [--requests 1500] [--pg] [--no-redis]
                                         [--redis-db 15]

It prints figures and never fails on a timing; it exits non-zero only when the measurement
itself is invalid (a server does not start, sign-in fails, a token request is refused).

What is measured: ``POST /oidc/token`` from 8 concurrent keep-alive connections, each request a
real exchange that succeeds (HTTP 200):

- *code*: ``grant_type=authorization_code`` with a fresh code and its PKCE verifier, client
  secret in the Authorization header: the ID token is signed (RS256) each time;
- *refresh*: ``grant_type=refresh_token`` with the refresh tokens the code exchanges returned
  (each used once: rotation).

Codes are prepared before each measurement through the authorize endpoint, signed in as a demo
user, 8 at a time; that part is not timed. The floor is a bare Flask app whose ``POST /token``
returns a fixed JSON body, loaded by the same client in the same run: servers run side by side
and are measured in interleaved rounds (this kind of machine is throttled under sustained load,
so only figures taken side by side compare); each figure is the median of its rounds.

Both servers run ``gunicorn --workers 2 --worker-class gthread --threads 4``; the client
(Python threads, one keep-alive connection each) runs on the same cores.

``measure()`` is the reusable part: other benchmarks (``bench/login.py``) call it against a
portal they started.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import http.client
import json
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import urllib.parse
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from homepage import (
    USERNAME,
    BenchError,
    base_env,
    database,
    flush_redis,
    gunicorn,
    log,
    portal_env,
    run,
    sign_in,
    venv_tool,
)

LUA = Path(__file__).resolve().parent / "oidc_token.lua"
REDIRECT_URI = "http://127.0.0.1:9/callback"  # never contacted: codes are read from Location
CONNECTIONS = 8
MAX_SECONDS = 300  # one measurement's limit; it ends as soon as every request is answered
TARGET_RPS = 300.0

FLOOR_APP = textwrap.dedent(
    '''
    """A bare Flask app: the floor the token endpoint is compared with."""
    from flask import Flask, jsonify

    app = Flask(__name__)


    @app.get("/")
    def ready() -> str:
        return "ok"


    @app.get("/oidc/jwks")
    def jwks():  # the fillers of oidc_token.lua ask for it, as on the portal
        return jsonify(keys=[])


    @app.post("/token")
    def token():
        return jsonify(access_token="x" * 42, token_type="Bearer", expires_in=600)
    '''
)


@dataclass
class Figures:
    label: str
    requests: int
    seconds: float
    p50_ms: float
    p95_ms: float
    failures: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


# --- HTTP ------------------------------------------------------------------------------------


def _connection(base_url: str) -> http.client.HTTPConnection:
    parts = urllib.parse.urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port or 80,
                                      timeout=30)


def _parallel(items: Sequence[object], connections: int, base_url: str,
              work: Callable[[http.client.HTTPConnection, object], object]) -> list[object]:
    """Run *work* on every item over *connections* keep-alive connections; results in order."""
    results: list[object] = [None] * len(items)
    cursor = iter(range(len(items)))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        conn = _connection(base_url)
        try:
            while True:
                with lock:
                    i = next(cursor, None)
                if i is None or errors:
                    return
                try:
                    results[i] = work(conn, items[i])
                except (OSError, http.client.HTTPException) as exc:
                    conn.close()
                    conn = _connection(base_url)  # one retry on a fresh connection
                    try:
                        results[i] = work(conn, items[i])
                    except (OSError, http.client.HTTPException, BenchError):
                        errors.append(exc)
                except BenchError as exc:
                    errors.append(exc)
        finally:
            conn.close()

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise BenchError(f"{len(errors)} request(s) failed, first: {errors[0]}")
    return results


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    digest = hashlib.sha256(verifier.encode()).digest()
    return verifier, base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def prepare_codes(base_url: str, cookie: str, client_id: str, n: int,
                  redirect_uri: str = REDIRECT_URI,
                  connections: int = CONNECTIONS) -> list[tuple[str, str]]:
    """*n* fresh authorization codes with their PKCE verifiers, through the authorize endpoint."""

    def one(conn: http.client.HTTPConnection, _item: object) -> tuple[str, str]:
        verifier, challenge = _pkce()
        query = urllib.parse.urlencode({
            "response_type": "code", "client_id": client_id, "redirect_uri": redirect_uri,
            "scope": "openid profile", "state": "bench", "nonce": secrets.token_urlsafe(12),
            "code_challenge": challenge, "code_challenge_method": "S256"})
        conn.request("GET", "/oidc/authorize?" + query,
                     headers={"Cookie": f"portal_session={cookie}"})
        resp = conn.getresponse()
        resp.read()
        location = resp.getheader("Location") or ""
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(location).query).get("code")
        if resp.status != 302 or not code:
            raise BenchError(f"authorize answered {resp.status} {location[:200]}")
        return code[0], verifier

    return _parallel(range(n), connections, base_url, one)  # type: ignore[return-value]


def hammer(label: str, base_url: str, path: str, bodies: Sequence[str],
           headers: dict[str, str], scratch: Path, connections: int = CONNECTIONS,
           keep_refresh_tokens: bool = False) -> tuple[Figures, list[str]]:
    """POST each body exactly once with wrk over *connections* connections.

    Returns the figures and, with *keep_refresh_tokens*, the refresh tokens the answers held.
    """
    threads = min(2, connections)
    body_file = scratch / f"{label}.bodies"
    body_file.write_text("\n".join(bodies) + "\n")
    out_prefix = scratch / f"{label}.refresh"
    for old in scratch.glob(f"{label}.refresh.*"):
        old.unlink()
    done_prefix = scratch / f"{label}.done"
    for old in scratch.glob(f"{label}.done.*"):
        old.unlink()
    cmd = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{MAX_SECONDS}s", "--timeout", "10s",
           "-s", str(LUA), base_url + path, "--", str(body_file), str(threads),
           headers.get("Authorization", ""), str(out_prefix) if keep_refresh_tokens else "",
           str(done_prefix)]
    log(f"$ wrk -t{threads} -c{connections} -s {LUA.name} {base_url}{path} ({len(bodies)} bodies)")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            stdin=subprocess.DEVNULL)
    try:
        # wrk would wait for the whole -d: stop it as soon as every thread has finished.
        while proc.poll() is None and len(list(scratch.glob(f"{label}.done.*"))) < threads:
            time.sleep(0.05)
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    if proc.returncode != 0:
        raise BenchError(f"{label}: wrk failed ({proc.returncode}): {stderr}{stdout}")
    done = subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)
    line = re.search(r"oidc-bench answered=(\d+) span_ns=(-?\d+) p50_us=(\d+) p95_us=(\d+) "
                     r"non2xx=(\d+)", done.stdout)
    if not line:
        raise BenchError(f"{label}: unexpected wrk output:\n{done.stdout}{done.stderr}")
    answered, span_ns, p50_us, p95_us, non_2xx = (int(g) for g in line.groups())
    if non_2xx:
        raise BenchError(f"{label}: {non_2xx} requests were refused:\n{done.stdout}")
    if answered != len(bodies) or span_ns <= 0:
        raise BenchError(f"{label}: {answered} of {len(bodies)} answered within "
                         f"{MAX_SECONDS} s")
    tokens: list[str] = []
    if keep_refresh_tokens:
        for part in sorted(scratch.glob(f"{label}.refresh.*")):
            tokens += part.read_text().split()
        if len(tokens) != len(bodies):
            raise BenchError(f"{label}: {len(tokens)} refresh tokens for {len(bodies)} codes")
    figures = Figures(label, len(bodies), span_ns / 1e9, p50_us / 1000, p95_us / 1000, 0)
    return figures, tokens


def _basic(client_id: str, client_secret: str) -> dict[str, str]:
    raw = f"{client_id}:{client_secret}".encode()
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


def measure(base_url: str, client_id: str, client_secret: str, *, username: str,
            password: str, requests: int = 1500, connections: int = CONNECTIONS,
            redirect_uri: str = REDIRECT_URI, scratch: Path | None = None) -> dict[str, Figures]:
    """Token endpoint figures of a running portal: code exchange, then refresh.

    *client_id* must be a registered first-party client whose redirect URI is *redirect_uri*;
    *username*/*password* sign in through the login form to obtain the codes. *scratch* is a
    folder for wrk's files (a temporary one when ``None``).
    """
    if scratch is None:
        with tempfile.TemporaryDirectory(prefix="portal-bench-oidc-") as tmp:
            return measure(base_url, client_id, client_secret, username=username,
                           password=password, requests=requests, connections=connections,
                           redirect_uri=redirect_uri, scratch=Path(tmp))
    cookie = sign_in(base_url, username, password)
    codes = prepare_codes(base_url, cookie, client_id, requests, redirect_uri, connections)
    auth = _basic(client_id, client_secret)
    bodies = [urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                      "redirect_uri": redirect_uri, "code_verifier": verifier})
              for code, verifier in codes]
    code_figures, refresh_tokens = hammer("code", base_url, "/oidc/token", bodies, auth,
                                          scratch, connections, keep_refresh_tokens=True)
    refresh_bodies = [urllib.parse.urlencode({"grant_type": "refresh_token",
                                              "refresh_token": token})
                      for token in refresh_tokens]
    refresh_figures, _ = hammer("refresh", base_url, "/oidc/token", refresh_bodies, auth,
                                scratch, connections)
    return {"code": code_figures, "refresh": refresh_figures}


def measure_floor(base_url: str, requests: int, scratch: Path,
                  connections: int = CONNECTIONS) -> Figures:
    bodies = [urllib.parse.urlencode({"grant_type": "authorization_code",
                                      "code": secrets.token_urlsafe(36)})
              for _ in range(requests)]
    figures, _ = hammer("floor", base_url, "/token", bodies, _basic("floor", "x"), scratch,
                        connections)
    return figures


# --- main ------------------------------------------------------------------------------------


def _median(label: str, rounds: list[Figures]) -> Figures:
    """Median requests/s and latencies over the rounds (requests/s as the median round's)."""
    by_rate = sorted(rounds, key=lambda f: f.rps)
    middle = by_rate[len(by_rate) // 2]
    return Figures(label, middle.requests, middle.seconds,
                   statistics.median(f.p50_ms for f in rounds),
                   statistics.median(f.p95_ms for f in rounds), 0)


def report(args: argparse.Namespace, floor: Figures, code: Figures, refresh: Figures) -> None:
    mode = ("PostgreSQL" if args.pg else "SQLite") + (
        ", sessions in the database" if args.no_redis else ", Redis sessions")
    print()
    print(f"OIDC token endpoint benchmark — {mode}; gunicorn --workers 2 --worker-class gthread "
          f"--threads 4; {args.connections} keep-alive connections, {args.requests} requests "
          f"per round, median of {args.rounds} interleaved rounds, client on the same cores")
    print()
    head = f"{'':<34}{'requests/s':>12}{'p50 ms':>9}{'p95 ms':>9}{'of floor':>10}  target"
    print(head)
    print("-" * (len(head) + 16))
    for figures, label, target in (
        (floor, "floor (bare Flask POST /token)", ""),
        (code, "code + PKCE → tokens, RS256 ID", f">= {TARGET_RPS:.0f}/s: "
         + ("met" if code.rps >= TARGET_RPS else "NOT met")),
        (refresh, "refresh token (rotated)", f">= {TARGET_RPS:.0f}/s: "
         + ("met" if refresh.rps >= TARGET_RPS else "NOT met")),
    ):
        ratio = f"{100 * figures.rps / floor.rps:.1f} %" if floor.rps else "-"
        print(f"{label:<34}{figures.rps:>12,.0f}{figures.p50_ms:>9.2f}{figures.p95_ms:>9.2f}"
              f"{ratio:>10}  {target}")
    print()
    print("Figures only: the machine is shared and noisy, compare ratios, not absolutes.")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    import os

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (3)")
    parser.add_argument("--requests", type=int, default=1500,
                        help="token requests per figure and round (1500)")
    parser.add_argument("--connections", type=int, default=CONNECTIONS,
                        help=f"concurrent keep-alive connections ({CONNECTIONS})")
    parser.add_argument("--no-redis", action="store_true",
                        help="sessions in the database instead of Redis")
    parser.add_argument("--pg", action="store_true",
                        help="a fresh PostgreSQL database on 127.0.0.1:5432 instead of SQLite")
    parser.add_argument("--customers", type=int, default=200, help="demo retailers (200)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--redis-db", type=int, default=15,
                        help="Redis database for sessions, flushed before and after (15)")
    args = parser.parse_args(argv)
    args.password = os.environ.get("PORTAL_DEMO_PASSWORD") or "Portal@2026"
    if args.rounds < 1 or args.requests < 20 or args.connections < 1:
        parser.error("need --rounds >= 1, --requests >= 20 and --connections >= 1")
    return args


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # unwinds the finally blocks that stop the servers


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGHUP, _terminate)
    scratch = Path(tempfile.mkdtemp(prefix="portal-bench-oidc-"))
    log(f"scratch folder {scratch}")
    started = time.monotonic()
    try:
        with database(args, scratch) as db_url:
            if not args.no_redis:
                flush_redis(args)
            env = base_env(scratch, db_url, args)
            portal = venv_tool("portal")
            run([portal, "db", "upgrade"], env, timeout=300)
            run([portal, "demo-data", "--customers", str(args.customers)], env, timeout=900)
            out = run([portal, "oidc", "add-client", "--name", "营销系统", "--first-party",
                       "--redirect-uri", REDIRECT_URI, "--json"], env, timeout=120)
            client = json.loads(out.strip().splitlines()[-1])
            (scratch / "floor_app.py").write_text(FLOOR_APP)
            floor_env = {k: v for k, v in env.items() if not k.startswith("PORTAL_")}
            rounds: dict[str, list[Figures]] = {"floor": [], "code": [], "refresh": []}
            with ExitStack() as stack:
                floor = stack.enter_context(
                    gunicorn("floor", "floor_app:app", floor_env, scratch, "/", cwd=scratch))
                server = stack.enter_context(gunicorn(
                    "portal", "portal.wsgi:app", portal_env(env, scratch, "oidc"), scratch,
                    "/login"))
                # Warm-up: keys created and parsed, connections pooled, code paths imported,
                # and a first rate for each figure (it sizes wrk's -d).
                measure_floor(floor.url, 200, scratch, args.connections)
                measure(server.url, client["client_id"], client["client_secret"],
                        username=USERNAME, password=args.password, requests=50,
                        connections=args.connections, scratch=scratch)
                for n in range(args.rounds):
                    rounds["floor"].append(measure_floor(floor.url, args.requests, scratch,
                                                         args.connections))
                    got = measure(server.url, client["client_id"], client["client_secret"],
                                  username=USERNAME, password=args.password,
                                  requests=args.requests, connections=args.connections,
                                  scratch=scratch)
                    rounds["code"].append(got["code"])
                    rounds["refresh"].append(got["refresh"])
                    log(f"round {n + 1}: " + ", ".join(
                        f"{k} {v[-1].rps:,.0f}/s" for k, v in rounds.items()))
            if not args.no_redis:
                flush_redis(args)
        report(args, _median("floor", rounds["floor"]), _median("code", rounds["code"]),
               _median("refresh", rounds["refresh"]))
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
