"""Where a sign-in spends its time, in one process: CPU profile and round trips per sign-in.

    .venv/bin/python bench/login_profile.py [--signins 400] [--redis-db 15] [--sqlite] [--top 30]
                                            [--oidc]

The same set-up as ``bench/login.py`` (a fresh database filled by ``portal demo-data``, a
private slapd loaded with its LDIF, sessions in Redis, ``AUTH_BACKENDS=ldap``), but the portal
runs in this process behind Flask's test client, so that what is counted is the portal alone:
SQL statements, Redis commands (a pipeline counts once, as the round trip it is) and LDAP
operations per sign-in (``GET /login`` + ``POST /login``), then a cProfile of the sign-ins
sorted by cumulative time. ``--oidc`` profiles token requests (code + PKCE exchange) instead.

Counts are exact; times are CPU profile figures, useful side by side on one machine only.
Wall-clock speed is ``bench/login.py``'s business.
"""

from __future__ import annotations

import argparse
import base64
import cProfile
import hashlib
import io
import json
import os
import pstats
import re
import secrets
import shutil
import sys
import tempfile
import time
import traceback
import urllib.parse
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import homepage as hp
import login

COUNTS: Counter[str] = Counter()
TRACE = os.environ.get("PROFILE_TRACE", "")


def _count_round_trips(app: Any) -> None:
    """Count SQL statements, Redis round trips and LDAP operations from here on."""
    import ldap.ldapobject
    import redis
    import redis.client
    from sqlalchemy import event

    engine = app.extensions["portal"].db.engine

    @event.listens_for(engine, "before_cursor_execute")
    def _sql(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        COUNTS["sql"] += 1
        COUNTS["sql: " + " ".join(statement.split())[:90]] += 1
        if TRACE and TRACE in statement:  # where a statement comes from: PROFILE_TRACE=text
            print("".join(traceback.format_stack(limit=12)[:-1]), file=sys.stderr)

    command = redis.Redis.execute_command
    pipeline = redis.client.Pipeline.execute

    def execute_command(self: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS["redis"] += 1
        COUNTS[f"redis: {args[0]}"] += 1
        return command(self, *args, **kwargs)

    def execute(self: Any, *args: Any, **kwargs: Any) -> Any:
        COUNTS["redis"] += 1
        COUNTS["redis: pipeline " + " ".join(str(c[0][0]) for c in self.command_stack)] += 1
        return pipeline(self, *args, **kwargs)

    redis.Redis.execute_command = execute_command  # type: ignore[method-assign]
    redis.client.Pipeline.execute = execute  # type: ignore[method-assign]
    for name in ("simple_bind_s", "search_ext", "start_tls_s"):
        original = getattr(ldap.ldapobject.SimpleLDAPObject, name)

        def wrapped(self: Any, *args: Any, _name: str = name, _original: Any = original,
                    **kwargs: Any) -> Any:
            COUNTS["ldap"] += 1
            COUNTS[f"ldap: {_name}"] += 1
            return _original(self, *args, **kwargs)

        setattr(ldap.ldapobject.SimpleLDAPObject, name, wrapped)
    # Connections opened (pools warming up) show as binds; one sign-in each warms them.


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=")
    return verifier, challenge.decode()


def profile_oidc(app: Any, env: dict[str, str], args: argparse.Namespace) -> None:
    """A client registered, codes obtained (untimed), then the code exchanges."""
    import oidc_token

    out = hp.run([hp.venv_tool("portal"), "oidc", "add-client", "--name", "营销系统",
                  "--first-party", "--redirect-uri", oidc_token.REDIRECT_URI, "--json"],
                 env, timeout=120)
    registered = json.loads(out.strip().splitlines()[-1])
    client = app.test_client()
    hp.sign_in_client(client, login.USERS[0], args.password)
    bodies = []
    for _ in range(args.signins + 5):
        verifier, challenge = _pkce()
        resp = client.get("/oidc/authorize?" + urllib.parse.urlencode({
            "response_type": "code", "client_id": registered["client_id"],
            "redirect_uri": oidc_token.REDIRECT_URI, "scope": "openid profile",
            "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"}))
        code = re.search(r"code=([^&]+)", resp.headers.get("Location", ""))
        if code is None:
            raise hp.BenchError(f"authorize: {resp.status_code} {resp.headers}")
        bodies.append({"grant_type": "authorization_code", "code": code.group(1),
                       "redirect_uri": oidc_token.REDIRECT_URI, "code_verifier": verifier})
    basic = base64.b64encode(
        f"{registered['client_id']}:{registered['client_secret']}".encode()).decode()
    rp = app.test_client()

    def exchange(body: dict[str, str]) -> None:
        resp = rp.post("/oidc/token", data=body, headers={"Authorization": f"Basic {basic}"})
        if resp.status_code != 200:
            raise hp.BenchError(f"token: {resp.status_code} {resp.get_data(as_text=True)}")

    for body in bodies[:5]:  # warm-up
        exchange(body)
    _count_round_trips(app)
    profiler = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for body in bodies[5:]:
        exchange(body)
    profiler.disable()
    _report(args, "token request (code + PKCE)", time.process_time() - started, profiler)


def profile_login(app: Any, args: argparse.Namespace) -> None:
    """Every demo account signs in once (provisioned, linked, pools warm), then the
    measured sign-ins, in turn."""
    client = app.test_client()
    users = login.USERS
    for user in users:  # every account once: provisioned and linked, pools warm
        hp.sign_in_client(client, user, args.password)
    _count_round_trips(app)
    profiler = cProfile.Profile(time.process_time) if args.cpu else cProfile.Profile()
    started = time.process_time()
    profiler.enable()
    for i in range(args.signins):
        hp.sign_in_client(client, users[i % len(users)], args.password)
    profiler.disable()
    _report(args, "sign-in (GET + POST /login)", time.process_time() - started, profiler)


def _report(args: argparse.Namespace, what: str, cpu: float, profiler: cProfile.Profile) -> None:
    n = args.signins
    print()
    print(f"{n} × {what}: {1000 * cpu / n:.2f} ms CPU each in this process "
          f"(profiler on; load average {os.getloadavg()[0]:.2f})")
    for kind in ("sql", "redis", "ldap"):
        print(f"  {kind}: {COUNTS[kind] / n:.2f} per {what.split()[0]}")
        for key, count in COUNTS.most_common():
            if key.startswith(kind + ": "):
                print(f"      {count / n:5.2f}  {key[len(kind) + 2:]}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("cumulative").print_stats(args.top)
    print(out.getvalue())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--signins", type=int, default=400)
    parser.add_argument("--redis-db", type=int, default=15)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--oidc", action="store_true", help="token requests instead")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--cpu", action="store_true",
                        help="profile CPU time (time.process_time) instead of wall time")
    args = parser.parse_args(argv)
    args.pg = not args.sqlite
    args.password = os.environ.get("PORTAL_DEMO_PASSWORD") or "Portal@2026"
    from sso.ldap import devserver
    from sso.ldap.ldif import DEMO_BASE_DN, READER_RDN

    scratch = Path(tempfile.mkdtemp(prefix="portal-profile-login-"))
    slapd = None
    try:
        with hp.database(args, scratch) as db_url:
            hp.flush_redis(args)
            env = hp.base_env(scratch, db_url, argparse.Namespace(password=args.password,
                                                                  no_redis=False,
                                                                  redis_db=args.redis_db))
            portal = hp.venv_tool("portal")
            hp.run([portal, "db", "upgrade"], env, timeout=300)
            hp.run([portal, "demo-data", "--customers", "200"], env, timeout=600)
            ldif = hp.run([portal, "ldap", "export-ldif", "--reader-password",
                           login.READER_PASSWORD], env, timeout=120)
            (scratch / "slapd").mkdir()
            slapd = devserver.start(scratch / "slapd", DEMO_BASE_DN,
                                    f"{READER_RDN},{DEMO_BASE_DN}")
            slapd.add_ldif(ldif)
            ldap_env = hp.portal_env(
                env, scratch, "ldap", PORTAL_AUTH_BACKENDS="ldap", PORTAL_LDAP_URL=slapd.url,
                PORTAL_LDAP_BASE_DN=f"ou=people,{DEMO_BASE_DN}",
                PORTAL_LDAP_BIND_DN=f"{READER_RDN},{DEMO_BASE_DN}",
                PORTAL_LDAP_BIND_PASSWORD=login.READER_PASSWORD)
            os.environ.clear()
            os.environ.update(ldap_env)
            from portal.app import create_app

            app = create_app()
            if args.oidc:
                profile_oidc(app, ldap_env, args)
            else:
                profile_login(app, args)
            app.extensions["portal"].db.engine.dispose()
            hp.flush_redis(args)
        return 0
    except (hp.BenchError, devserver.SlapdError) as exc:
        hp.log(f"FAILED: {exc}")
        return 1
    finally:
        if slapd is not None:
            slapd.stop()
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
