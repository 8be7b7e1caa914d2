"""Benchmark of the sync engine: change events ingested per second, with their notices.

    .venv/bin/python bench/sync.py [--changes 10000] [--customers 2000] [--sqlite] [--profile]
                                   [--overlap]

On PostgreSQL (default) it creates a portal database and three source databases, generates
the demo organisation with ``--customers`` retailers, seeds the simulated 专卖/营销/物流 from
them, writes ``--changes`` licence transactions (suspend / resume in turns, so every one is a
change with a notice for the customer's three staff) into 专卖's change table, and runs the
engine over them. It never fails on a timing; the databases are dropped at the end.

What "end to end" means depends on ``--overlap``:

* default (sequential): the engine applies every change (rows → customer view, history,
  outbox, in batches committed with the watermark), *then* the outbox is dispatched (outbox →
  notices). It prints the rate of each phase and of both one after the other — the cost of a
  change on one core, so the figure to compare over time.
* ``--overlap``: how production runs — a separate dispatcher process (what the portal worker
  or Celery is) delivers the outbox *while* the engine applies. "End to end" is from the
  first batch until the last notice exists; the apply rate is the engine's alone.

Besides wall-clock rates (noisy on a shared machine: note the load average) it prints the CPU
time per change, of the bench's Python processes and of the PostgreSQL backends serving the
portal database (from /proc, PostgreSQL on this host), which the other jobs disturb less.
``--profile`` prints the top of a cProfile of the bench process (the engine and, when not
overlapped, the dispatch).
"""

from __future__ import annotations

import argparse
import cProfile
import multiprocessing
import os
import pstats
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

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


def _backend_cpu(database: str) -> dict[int, float]:
    """CPU seconds so far of each PostgreSQL backend connected to *database* (by pid)."""
    ticks = os.sysconf("SC_CLK_TCK")
    out: dict[int, float] = {}
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        pids = [r[0] for r in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s", (database,))]
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        out[pid] = (int(fields[11]) + int(fields[12])) / ticks
    return out


class CpuMeter:
    """CPU seconds of this process and of the portal database's backends since the start."""

    def __init__(self, database: str | None) -> None:
        self.database = database
        self.py0, self.pg0 = time.process_time(), self._pg()

    def _pg(self) -> dict[int, float]:
        return _backend_cpu(self.database) if self.database else {}

    def read(self) -> tuple[float, float]:
        now = self._pg()
        pg = sum(v - self.pg0.get(pid, 0.0) for pid, v in now.items())
        return time.process_time() - self.py0, pg


def _dispatcher(config: dict[str, Any], stop: Any, drained: Any, leave: Any,
                result: Any) -> None:
    """The separate dispatch worker of ``--overlap``: the outbox loop of the portal worker,
    until told to stop and nothing is left; reports its CPU seconds, then keeps its database
    connections open until told to leave (their backends' CPU is measured first)."""
    sys.path.insert(0, str(ROOT))
    from connectors.sync.engine import DISPATCH_BATCH
    from portal.app import create_app
    from portal.events import dispatch_pending

    app = create_app(config)
    with app.app_context():
        cpu0 = time.process_time()
        while True:
            stopping = stop.is_set()
            if dispatch_pending(app, limit=2000, batch=DISPATCH_BATCH):
                continue
            if stopping:
                break
            time.sleep(0.05)  # nothing pending: poll again soon, as the worker does
    result.value = time.process_time() - cpu0
    drained.set()
    leave.wait()
    app.extensions["portal"].db.engine.dispose()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--changes", type=int, default=10_000)
    ap.add_argument("--customers", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=1000)
    ap.add_argument("--sqlite", action="store_true", help="SQLite files instead of PostgreSQL")
    ap.add_argument("--profile", action="store_true", help="print the top of a cProfile")
    ap.add_argument("--overlap", action="store_true",
                    help="dispatch in a separate process while the engine applies")
    args = ap.parse_args()

    from sqlalchemy import func, insert, select

    from connectors.models import LicenseEvent
    from connectors.registry import sim_urls
    from connectors.sim.schemas import zm_xkz, zm_xkz_bd
    from connectors.sim.systems import SimSystems
    from connectors.sync.engine import DISPATCH_BATCH, SyncEngine
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
            worker = None
            if args.overlap:
                ctx = multiprocessing.get_context("spawn")
                stop, drained, leave = ctx.Event(), ctx.Event(), ctx.Event()
                worker_cpu = ctx.Value("d", 0.0)
                worker = ctx.Process(target=_dispatcher,
                                     args=(config, stop, drained, leave, worker_cpu))
                worker.start()
                time.sleep(3)  # its start-up (imports, app) is not the engine's time
            meter = CpuMeter(None if args.sqlite else dropped[0])
            if profiler:
                profiler.enable()
            t0 = time.perf_counter()
            result = engine.run_source("monopoly")
            t1 = time.perf_counter()
            if worker is not None:
                stop.set()
                drained.wait()
            else:
                while dispatch_pending(app, limit=2000, batch=DISPATCH_BATCH):
                    pass
            t2 = time.perf_counter()
            if profiler:
                profiler.disable()
            py_cpu, pg_cpu = meter.read()
            if worker is not None:
                py_cpu += worker_cpu.value
                leave.set()
                worker.join()
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
            if worker is None:
                print(f"  dispatch: {outbox} outbox events → {notices} notices, {receipts} "
                      f"receipts in {t2 - t1:.2f} s = {outbox / (t2 - t1):,.0f} outbox "
                      f"events/s")
            else:
                print(f"  dispatch: {outbox} outbox events → {notices} notices, {receipts} "
                      f"receipts by a separate worker process while applying; last notice "
                      f"{t2 - t1:.2f} s after the last batch")
            mode = "overlapped" if worker is not None else "one after the other"
            print(f"  total:    {events} changes with their notices in {t2 - t0:.2f} s = "
                  f"{events / (t2 - t0):,.0f} change events/s, {mode} (target ≥ 2,000/s)")
            server = "" if args.sqlite else \
                f" + {1000 * pg_cpu / max(events, 1):.2f} ms PostgreSQL"
            print(f"  CPU:      {1000 * py_cpu / max(events, 1):.2f} ms Python{server} per "
                  f"change; load average {os.getloadavg()[0]:.1f}")
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
