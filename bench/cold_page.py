"""Where a cold homepage's CPU goes, measured in-process: the figures docs/performance.md quotes.

    .venv/bin/python bench/cold_page.py [--pages 200]         CPU time a page
    .venv/bin/python bench/cold_page.py --windows             CPU time of each window
    .venv/bin/python bench/cold_page.py --sql                 time of each SQL statement
    .venv/bin/python bench/cold_page.py --profile [tottime]   cProfile of the pages
    .venv/bin/python bench/cold_page.py --instructions [--against ../other-checkout]

``bench/homepage.py`` gives the issue's figures (requests/s against the floor), but on these
machines served figures swing by a factor of two within a minute, too much to judge a change of
a few per cent. This script renders kehu01's homepage with the portlet cache off, in one
process, with the windows rendered inline on the page's thread (the render crew's thread
handover is left out, so that scheduling does not enter), on a scratch SQLite database with
``portal demo-data --customers 2000`` and Redis db ``--redis-db`` (flushed). ``--instructions``
counts instructions with valgrind's callgrind (``apt-get install valgrind``): the pages 21–60
minus the pages 1–20, over 40 — the same number on every run, so two checkouts compare
(``--against`` runs the other checkout's code on the same database).

It prints figures and never fails on a timing; it exits non-zero when the measurement is
invalid (sign-in fails, a window errors, valgrind is missing).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import homepage as hp

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--windows", action="store_true")
    parser.add_argument("--sql", action="store_true")
    parser.add_argument("--profile", nargs="?", const="tottime", metavar="SORT")
    parser.add_argument("--instructions", action="store_true")
    parser.add_argument("--against", type=Path, help="another checkout to count as well")
    parser.add_argument("--threaded", action="store_true",
                        help="render the windows on the render crew's threads, as when served")
    parser.add_argument("--redis-db", type=int, default=13)
    parser.add_argument("--run", help=argparse.SUPPRESS)  # the measuring child
    args = parser.parse_args()
    if args.run:
        return measure(args.run, args.pages, args.threaded)
    with tempfile.TemporaryDirectory(prefix="portal-cold-") as folder:
        env = scratch_portal(Path(folder), args.redis_db)
        if args.instructions:
            return count_instructions(env, [ROOT, *([args.against] if args.against else [])],
                                      args.threaded)
        mode = ("windows" if args.windows else "sql" if args.sql
                else f"profile:{args.profile}" if args.profile else "time")
        return child(env, ROOT, mode, args.pages, args.threaded).returncode


def scratch_portal(folder: Path, redis_db: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update(PORTAL_DATABASE_URL=f"sqlite:///{folder / 'cold.db'}",
               PORTAL_REDIS_URL=f"redis://127.0.0.1:6379/{redis_db}",
               PORTAL_PORTLET_CACHE="false", PORTAL_SECRET_KEY="bench-cold-page",
               # Under valgrind a page is fifty times slower: no window may time out.
               PORTAL_PORTLET_TIMEOUT_SCALE="100",
               # The same string hashes, dictionary layouts and so instruction counts each run.
               PYTHONHASHSEED="0")
    portal = str(Path(sys.executable).with_name("portal"))
    for step in (["db", "upgrade"], ["demo-data", "--customers", "2000"]):
        subprocess.run([portal, *step], env=env, cwd=ROOT, check=True, capture_output=True)
    import redis

    redis.Redis.from_url(env["PORTAL_REDIS_URL"]).flushdb()
    return env


def child(env: dict[str, str], checkout: Path, mode: str, pages: int, threaded: bool,
          wrap: list[str] | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [*(wrap or []), sys.executable, str(Path(__file__).resolve()), "--run", mode,
           "--pages", str(pages), *(["--threaded"] if threaded else [])]
    run_env = {**env, "PYTHONPATH": str(checkout)}
    return subprocess.run(cmd, env=run_env, cwd=checkout, text=True,
                          capture_output=bool(wrap))


def count_instructions(env: dict[str, str], checkouts: list[Path], threaded: bool) -> int:
    if shutil.which("valgrind") is None:
        print("valgrind is missing: apt-get install valgrind", file=sys.stderr)
        return 2
    counts = []
    for checkout in checkouts:
        totals = []
        for pages in (20, 60):
            done = child(env, checkout, "count", pages, threaded,
                         wrap=["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"])
            found = re.search(r"Collected : (\d+)", done.stderr)
            if done.returncode or not found:
                print(done.stdout, done.stderr[-2000:], file=sys.stderr)
                return 1
            totals.append(int(found.group(1)))
        counts.append((totals[1] - totals[0]) / 40)
        print(f"{checkout}: {counts[-1] / 1e6:.2f}M instructions a cold homepage", flush=True)
    if len(counts) == 2:
        print(f"ratio {counts[0] / counts[1]:.3f} ({checkouts[0]} / {checkouts[1]})")
    return 0


# --- the measuring child: runs with the checkout under test first on sys.path --------------


def measure(mode: str, pages: int, threaded: bool) -> int:
    from portal import aggregator
    from portal.app import create_app

    # Render a page's windows on its own thread: no thread handover, no scheduling.
    def hire_inline(crew: aggregator._Crew) -> None:
        crew.size += 1
        crew._work()

    if not threaded:
        aggregator._Crew.hire = hire_inline  # type: ignore[method-assign]
    app = create_app()
    client = app.test_client()
    try:
        hp.sign_in_client(client, hp.USERNAME, app.extensions["portal"].settings["DEMO_PASSWORD"])
    except hp.BenchError as exc:
        print(exc, file=sys.stderr)
        return 1

    def page() -> None:
        response = client.get("/")
        html = response.get_data(as_text=True)
        if response.status_code != 200 or "window-error" in html:
            raise SystemExit(f"the homepage is not whole: HTTP {response.status_code}")
        if hp.CHINESE_SHELL not in html:
            raise SystemExit("the homepage is not in Chinese: are the catalogues compiled in "
                             "this checkout? (make translations)")

    for _ in range(20):
        page()
    if mode == "count":
        for _ in range(pages):
            page()
        return 0
    if mode == "time":
        cpu, wall = time.process_time(), time.perf_counter()
        for _ in range(pages):
            page()
        print(f"{(time.process_time() - cpu) / pages * 1000:.3f} ms CPU a page, "
              f"{(time.perf_counter() - wall) / pages * 1000:.3f} ms by the clock")
        return 0
    if mode.startswith("profile:"):
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(pages):
            page()
        profiler.disable()
        pstats.Stats(profiler).sort_stats(mode.split(":", 1)[1]).print_stats(50)
        return 0
    if mode == "windows":
        return _windows(page, pages)
    return _statements(app, page, pages)


def _windows(page: object, pages: int) -> int:
    import dataclasses
    from collections import defaultdict

    from portal import aggregator

    spent: dict[str, float] = defaultdict(float)
    work = aggregator._Crew._work

    def timed_work(crew: aggregator._Crew) -> None:
        for job in crew.queue:
            render = job.portlet.render

            def timed(ctx: object, render: object = render, pid: str = job.portlet.id) -> str:
                started = time.thread_time()
                try:
                    return render(ctx)  # type: ignore[operator, no-any-return]
                finally:
                    spent[pid] += time.thread_time() - started

            job.portlet = dataclasses.replace(job.portlet, render=timed)
        work(crew)

    aggregator._Crew._work = timed_work  # type: ignore[method-assign]
    started = time.thread_time()
    for _ in range(pages):
        page()  # type: ignore[operator]
    total = time.thread_time() - started
    for pid, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"{pid:20s} {seconds / pages * 1000:6.3f} ms")
    print(f"{'all windows':20s} {sum(spent.values()) / pages * 1000:6.3f} ms "
          f"of {total / pages * 1000:.3f} ms a page")
    return 0


def _statements(app: object, page: object, pages: int) -> int:
    from collections import defaultdict

    from sqlalchemy import event

    engine = app.extensions["portal"].db.engine  # type: ignore[attr-defined]
    spent: dict[str, list[float]] = defaultdict(list)

    @event.listens_for(engine, "before_cursor_execute")
    def _before(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
        conn.info["bench_started"] = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(conn, cursor, statement, parameters, context, many):  # type: ignore[no-untyped-def]
        spent[statement].append(time.perf_counter() - conn.info["bench_started"])

    for _ in range(pages):
        page()  # type: ignore[operator]
    for statement, times in sorted(spent.items(), key=lambda kv: -sum(kv[1])):
        print(f"{sum(times) / pages * 1e6:8.1f} µs  {len(times) / pages:4.1f}×  "
              f"{' '.join(statement.split())[:110]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
