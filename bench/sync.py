"""Benchmark of the sync engine: change events ingested per second, with their notices.

    .venv/bin/python bench/sync.py [--changes 10000] [--customers 2000] [--sqlite] [--profile]

On PostgreSQL (default) it creates a portal database and three source databases, generates
the demo organisation with ``--customers`` retailers, seeds the simulated 专卖/营销/物流 from
them, writes ``--changes`` licence transactions (suspend / resume in turns, so every one is a
change with a notice for the customer's three staff) into 专卖's change table, and runs the
engine over them. It prints the rate of the apply phase (rows → customer view, history,
outbox, in batches committed with the watermark), of the dispatch phase (outbox → notices) and
of both together. It never fails on a timing; the databases are dropped at the end.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


def _databases(count: int) -> tuple[list[str], list[str]]:
    names = [f"portal_bench_sync_{uuid.uuid4().hex[:8]}" for _ in range(count)]
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for n in names:
            conn.execute(f'CREATE DATABASE "{n}"')
    return names, [f"postgresql+psycopg://postgres@127.0.0.1:5432/{n}" for n in names]


def _drop(names: list[str]) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        for n in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{n}" WITH (FORCE)')


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    ap.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    args = ap.parse_args()

    from sqlalchemy import func, insert, select

    from connectors.models import LicenseEvent
    from connectors.registry import sim_urls
    from connectors.sim.schemas import zm_xkz, zm_xkz_bd
    from connectors.sim.systems import SimSystems
    from connectors.sync.engine import SyncEngine
    from portal.app import create_app
    from portal.demo.generate import run as demo
    from portal.events import dispatch_pending
    from portal.migrate import upgrade
    from portal.models import OutboxEvent
    from portlets.notices.models import Notice, NoticeReceipt

    scratch = Path(tempfile.mkdtemp(prefix="bench-sync-"))
    dropped: list[str] = []
    config = {"SECRET_KEY": "bench", "LAYOUTS_DIR": str(ROOT / "layouts"),
              "SIM_DIR": str(scratch / "sim")}
    if args.sqlite:
        config["DATABASE_URL"] = f"sqlite:///{scratch}/portal.db"
    else:
        dropped, urls = _databases(4)
        config["DATABASE_URL"] = urls[0]
        config["SIM_DATABASES"] = [f"{n}={u}" for n, u in
                                   zip(("monopoly", "marketing", "logistics"), urls[1:],
                                       strict=True)]
    try:
        app = create_app(config)
        with app.app_context():
            upgrade(app)
            demo(app, customers=args.customers)
            systems = SimSystems(sim_urls(app))
            systems.create()
            systems.seed(app.extensions["portal"].db.session(), weeks=0)
            with systems.engines["monopoly"].connect() as conn:
                licences = [tuple(r) for r in conn.execute(
                    select(zm_xkz.c.XKZH, zm_xkz.c.QYMC, zm_xkz.c.ZGY).where(
                        zm_xkz.c.ZT == "01"))]
            n = len(licences)
            rows = [{"XKZH": lic, "BDLX": "TY" if (i // n) % 2 == 0 else "HF",
                     "BDRQ": "20261120", "QYMC": name, "FZR": "张三", "JYDZ": "测试地址1号",
                     "JYFW": "卷烟零售", "YXQZ": "20290101",
                     "ZT": "02" if (i // n) % 2 == 0 else "01", "ZGY": zgy, "XCXL": "ZM-01"}
                    for i, (lic, name, zgy) in ((i, licences[i % n]) for i in range(args.changes))]
            with systems.engines["monopoly"].begin() as conn:
                for i in range(0, len(rows), 5000):
                    conn.execute(insert(zm_xkz_bd), rows[i:i + 5000])
            engine = SyncEngine(app, batch_size=args.batch_size, dispatch=False)
            profiler = cProfile.Profile() if args.profile else None
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            result = engine.run_source("monopoly")
            t1 = time.perf_counter()
            while dispatch_pending(app, limit=2000):
                pass
            t2 = time.perf_counter()
            if profiler:
                profiler.disable()
            s = app.extensions["portal"].db.session()
            count = lambda q: int(s.scalar(q) or 0)  # noqa: E731
            events = count(select(func.count()).select_from(LicenseEvent))
            notices = count(select(func.count()).select_from(Notice))
            receipts = count(select(func.count()).select_from(NoticeReceipt))
            outbox = count(select(func.count()).select_from(OutboxEvent))
            db = "SQLite" if args.sqlite else "PostgreSQL"
            print(f"sync bench on {db}: {args.changes} licence changes over {n} active "
                  f"customers (demo organisation of {args.customers}), batches of "
                  f"{args.batch_size}")
            print(f"  apply:    {result.read} rows, {result.events} change events in "
                  f"{t1 - t0:.2f} s = {result.read / (t1 - t0):,.0f} changes/s "
                  f"(customer view + history + outbox, committed with the watermark)")
            print(f"  dispatch: {outbox} outbox events → {notices} notices, {receipts} "
                  f"receipts in {t2 - t1:.2f} s = {outbox / (t2 - t1):,.0f} outbox events/s")
            print(f"  total:    {events} changes with their notices in {t2 - t0:.2f} s = "
                  f"{events / (t2 - t0):,.0f} change events/s (target ≥ 2,000/s)")
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(
                    r"connectors|portal|portlets", 40)
            systems.dispose()
        app.extensions["portal"].db.engine.dispose()
    finally:
        _drop(dropped)
    return 0


if __name__ == "__main__":
    sys.exit(main())
