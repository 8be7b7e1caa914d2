"""Benchmark of the personal layer: effective layouts for 10,000 users, and saving a move.

    .venv/bin/python bench/layout.py [--users 10000] [--moves 300] [--sqlite] [--no-redis]

Figures (the issue's targets in brackets); it prints them and never fails on a timing:

1. Effective-layout resolution, per user: the newest post layout version plus the user's own
   diff, read from the database (one query per user, nothing cached for that user yet) and
   merged (``portal.homepage.arranged_pages``), for every one of N users who each have a diff
   of several moves, a removal and an added window. p50 / p95 / max [p95 ≤ 1 ms].
2. Saving a move through the HTTP API under gunicorn (2 gthread workers), one client signed in
   through the login form, each request a real drag result (JSON, CSRF header, version check,
   diff stored, counters bumped): p50 / p95 [p95 ≤ 20 ms].

PostgreSQL and Redis by default (a database created and dropped, Redis db 15 flushed), as in
production; ``--sqlite`` / ``--no-redis`` for the embedded mode.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import homepage as hb  # the shared server and database helpers

PAGE = "account_manager.home"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--moves", type=int, default=300)
    parser.add_argument("--sqlite", action="store_true", help="SQLite instead of PostgreSQL")
    parser.add_argument("--no-redis", action="store_true")
    parser.add_argument("--password", default="Portal@2026")
    args = parser.parse_args()
    args.pg = not args.sqlite
    return args


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def seed_users(db_url: str, env: dict[str, str], count: int) -> list[int]:
    """*count* account managers, each with a diff: three moves, a removal, an added window."""
    os.environ.update({k: v for k, v in env.items() if k.startswith("PORTAL_")})
    from sqlalchemy import insert, select

    from portal.app import create_app
    from portal.models import Person, Post, PostAssignment, UserLayout

    app = create_app()
    rng = random.Random(7)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        post_id = s.scalar(select(Post.id).where(Post.code == "account_manager"))
        unit = s.scalar(select(Person.org_unit_id).where(Person.username == "kehu01"))
        first = (s.scalar(select(Person.id).order_by(Person.id.desc()).limit(1)) or 0) + 1
        ids = list(range(first, first + count))
        s.execute(insert(Person), [{"id": i, "username": f"bench{i}", "display_name": f"测试{i}",
                                    "org_unit_id": unit, "active": True} for i in ids])
        s.execute(insert(PostAssignment), [{"person_id": i, "post_id": post_id,
                                            "org_unit_id": unit, "manages": False} for i in ids])
        rows = []
        for i in ids:
            y = 13 + rng.randrange(4)
            diff = {"base": 0,
                    "windows": {"today": {"x": 0, "y": y, "w": 4, "h": 2},
                                "profile": {"x": 6, "y": y + 3, "w": 5, "h": 3},
                                "stats": {"state": "minimized"},
                                "directory": {"removed": True}},
                    "added": [{"id": "my-1", "portlet": "directory", "x": 0, "y": y + 6,
                               "w": 6, "h": 3}]}
            rows.append({"person_id": i, "page_key": PAGE, "diff": diff, "version": 1})
        s.execute(insert(UserLayout), rows)
        s.commit()
    app.extensions["portal"].db.engine.dispose()
    return ids


def measure_resolution(env: dict[str, str], ids: list[int]) -> tuple[list[float], list[float]]:
    """(merge only, whole resolution with its database and cache reads), ms per user.

    Each user in a request of their own, as on the homepage: nothing of theirs is cached yet.
    """
    from sqlalchemy import select

    from portal.app import create_app
    from portal.auth import Principal
    from portal.homepage import arranged_pages
    from portal.layout_versions import effective_layouts
    from portal.models import UserLayout
    from portal.personal import resolve

    app = create_app()
    merge: list[float] = []
    whole: list[float] = []
    state = app.extensions["portal"]
    with app.test_request_context("/"):
        s = state.db.session()
        page = effective_layouts(s)["account_manager"].pages[0]
        diffs = dict(s.execute(select(UserLayout.person_id, UserLayout.diff)).all())
    for pid in ids:
        principal = Principal(person_id=pid, username=f"bench{pid}", display_name="",
                              org_unit_id=None, posts=("account_manager",))
        started = time.perf_counter()
        resolved = resolve(page, diffs[pid], state.portlets, principal)
        merge.append((time.perf_counter() - started) * 1000)
        if not any(w.id == "my-1" for w in resolved.page.windows):
            raise hb.BenchError(f"user {pid}: the added window is missing; diff not applied")
        with app.test_request_context("/"):
            s = state.db.session()
            started = time.perf_counter()
            arranged_pages(s, principal)
            whole.append((time.perf_counter() - started) * 1000)
            state.db.remove()
    state.db.engine.dispose()
    return merge, whole


def measure_moves(base: str, args: argparse.Namespace) -> list[float]:
    jar = http.cookiejar.CookieJar()
    opener = hb.plain_opener(jar)
    hb.sign_in(base, hb.USERNAME, args.password)  # checks the account works
    with opener.open(f"{base}/login", timeout=20) as resp:
        html = resp.read().decode()
    token = hb.VALUE_ATTR.search(hb.CSRF_INPUT.search(html).group(0)).group(1)  # type: ignore[union-attr]
    form = urllib.parse.urlencode({"csrf_token": token, "username": hb.USERNAME,
                                   "password": args.password}).encode()
    opener.open(urllib.request.Request(f"{base}/login", data=form, method="POST"), timeout=30)
    with opener.open(f"{base}/", timeout=30) as resp:
        home = resp.read().decode()
    csrf = json.loads(re.search(r"hx-headers='([^']*)'", home).group(1))["X-CSRFToken"]  # type: ignore[union-attr]
    version = int(re.search(r'data-version="(\d+)"', home).group(1))  # type: ignore[union-attr]
    times: list[float] = []
    for i in range(args.moves):
        y = 13 + (i % 2)  # today moves between two free rows below the page
        body = json.dumps({"version": version, "windows": [
            {"id": "today", "x": 0, "y": y, "w": 4, "h": 2}]}).encode()
        req = urllib.request.Request(f"{base}/layout/{PAGE}/move", data=body, method="POST",
                                     headers={"Content-Type": "application/json",
                                              "Accept": "application/json",
                                              "X-CSRFToken": csrf, "Referer": base + "/"})
        started = time.perf_counter()
        with opener.open(req, timeout=30) as resp:
            answer = json.loads(resp.read())
        times.append((time.perf_counter() - started) * 1000)
        version = int(answer["version"])
    return times


def main() -> int:
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="portal-bench-layout-") as tmp:
        scratch = Path(tmp)
        try:
            with hb.database(args, scratch) as db_url:
                if not args.no_redis:
                    hb.flush_redis()
                env = hb.base_env(scratch, db_url, args)
                hb.run([hb.venv_tool("portal"), "db", "upgrade"], env, timeout=300)
                hb.run([hb.venv_tool("portal"), "demo-data", "--customers", "2000"], env,
                       timeout=900)
                hb.log(f"creating {args.users} users with their own layouts")
                ids = seed_users(db_url, env, args.users)
                merge, resolution = measure_resolution(env, ids)
                with hb.gunicorn("portal", "portal.wsgi:app", hb.portal_env(env, scratch, "p"),
                                 scratch, "/login") as server:
                    moves = measure_moves(server.url, args)
        except hb.BenchError as exc:
            print(f"bench/layout.py: {exc}", file=sys.stderr)
            return 2
    store = "PostgreSQL" if args.pg else "SQLite"
    cache = "in-process" if args.no_redis else "Redis"
    print(f"\nPersonal layer ({store}, {cache})")
    print(f"  effective layout, {len(merge)} users with diffs, merge (post version + diff): "
          f"p50 {statistics.median(merge):.3f} ms, p95 {pct(merge, 95):.3f} ms, "
          f"max {max(merge):.2f} ms   [target p95 <= 1 ms: "
          f"{'MET' if pct(merge, 95) <= 1 else 'NOT MET'}]")
    print(f"  effective layout with its reads (diff from the database, counters from the "
          f"cache): p50 {statistics.median(resolution):.3f} ms, "
          f"p95 {pct(resolution, 95):.3f} ms, max {max(resolution):.2f} ms")
    print(f"  saving a move (HTTP, {len(moves)} requests): p50 {statistics.median(moves):.2f} ms, "
          f"p95 {pct(moves, 95):.2f} ms   [target p95 <= 20 ms: "
          f"{'MET' if pct(moves, 95) <= 20 else 'NOT MET'}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
