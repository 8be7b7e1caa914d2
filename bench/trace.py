"""Benchmark of the customer trace area on PostgreSQL: search over 1,000,000 customers and a
customer page with five years of purchases.

    .venv/bin/python bench/trace.py [--customers 1000000] [--with-history 200] [--queries 300]
    .venv/bin/python bench/trace.py --keep            # prints the database's name, keeps it
    .venv/bin/python bench/trace.py --reuse NAME      # measures again on that database
    .venv/bin/python bench/trace.py --drop NAME       # drops it when you are done

Steps: a fresh PostgreSQL database; the demo organisation (2,000 retailers, for its units and
staff); then ``--customers`` more customers written with COPY, spread over the six county
units; for ``--with-history`` of them, five years of weekly purchases, deliveries and field
changes (COPY too); VACUUM (ANALYZE). Then, through the Flask test client with a signed-in
inspector (scope: one county) and an admin (scope: everything): searches by licence-number
prefix and customer-code prefix (7 to 12 characters of numbers that exist: 100,000 matches
down to one), by part of a name (two of the shop-name words: about 1,100 matches), and
customer pages. Prints p50/p95/max per kind in milliseconds (targets: search p95 ≤ 30 ms,
page p95 ≤ 50 ms), next to the floor of the same request path without a query (sign-in
check, scope, template). Never fails on a timing.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
WORDS = ("永兴", "福来", "金鑫", "顺发", "好运", "和平", "万家", "佳佳", "惠民", "红星", "东方",
         "新华", "利群", "百货", "友谊", "长城", "阳光", "吉祥", "旺角", "平安", "春风", "明珠",
         "天天", "如意", "四季", "丰收", "向阳", "兴隆", "美佳", "乐购")
FORMATS = ("便利店", "超市", "烟酒店", "食杂店", "商行")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


#: SQL statements run since the last request began (an engine event counts them).
STATEMENTS = [0]


def timed(client: object, url: str, samples: dict[str, list[float]]) -> int:
    """GET *url*; adds its wall time, this process's CPU time and its statements."""
    STATEMENTS[0] = 0
    c0, t0 = time.process_time(), time.perf_counter()
    status: int = client.get(url).status_code  # type: ignore[attr-defined]
    samples["wall"].append((time.perf_counter() - t0) * 1000)
    samples["cpu"].append((time.process_time() - c0) * 1000)
    samples["sql"].append(STATEMENTS[0])
    return status


def report(kind: str, s: dict[str, list[float]], target: float) -> None:
    """Wall time (the target's measure), and beside it what the other jobs on a shared
    machine do not change: statements per request and the CPU time of this process (the
    app in the test client), which excludes PostgreSQL's."""
    ms = s["wall"]
    print(f"  {kind:<34} n={len(ms):>4}  p50 {statistics.median(ms):6.1f} ms  "
          f"p95 {pct(ms, 95):6.1f} ms  max {max(ms):6.1f} ms   (target p95 ≤ {target:.0f} ms)"
          f"  | {statistics.median(s['sql']):.0f} statements, app CPU p50 "
          f"{statistics.median(s['cpu']):.1f} ms")


def samples() -> dict[str, list[float]]:
    return {"wall": [], "cpu": [], "sql": []}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--with-history", type=int, default=200)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="do not drop the database")
    ap.add_argument("--reuse", metavar="NAME",
                    help="measure on a database kept by an earlier --keep run (kept again)")
    ap.add_argument("--drop", metavar="NAME", help="drop a kept database and exit")
    args = ap.parse_args()
    if args.drop:
        if not args.drop.startswith("portal_bench_trace_"):
            ap.error("--drop only drops databases this bench made (portal_bench_trace_…)")
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{args.drop}" WITH (FORCE)')
        return 0

    from sqlalchemy import event, select

    from portal.app import create_app
    from portal.demo.generate import run as demo
    from portal.migrate import upgrade
    from portal.models import Customer, Person

    name = args.reuse or f"portal_bench_trace_{uuid.uuid4().hex[:8]}"
    if not args.reuse:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    keep = args.keep or bool(args.reuse)
    if keep:
        print(f"database: {name} (kept; --reuse {name} measures again, --drop {name} drops it)")
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        app = create_app({"DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://"),
                          "SECRET_KEY": "bench", "LAYOUTS_DIR": str(ROOT / "layouts"),
                          "WTF_CSRF_ENABLED": False, "DEMO_PASSWORD": "bench-pw-1"})
        rng = random.Random(6)
        if args.reuse:
            with app.app_context():
                upgrade(app)  # the migrations written since the database was made
            with psycopg.connect(dsn) as conn:
                ids = [r[0] for r in conn.execute(
                    "SELECT id FROM customer WHERE license_no LIKE '9%%' ORDER BY id "
                    "LIMIT %s", (args.with_history,))]
        else:
            with app.app_context():
                upgrade(app)
                demo(app, customers=2000)
                s = app.extensions["portal"].db.session()
                template = list(s.execute(select(
                    Customer.org_unit_id, Customer.inspector_id, Customer.account_manager_id,
                    Customer.deliveryman_id)).all())
                s.close()
            t0 = time.perf_counter()
            with psycopg.connect(dsn) as conn, conn.cursor() as cur:
                cols = ("license_no", "customer_code", "name", "operator_name", "address",
                        "business_format", "market_type", "grade", "credit_level", "org_unit_id",
                        "status", "license_valid_to", "inspector_id", "account_manager_id",
                        "deliveryman_id", "updated_at")
                now = datetime.now()
                with cur.copy(f"COPY customer ({', '.join(cols)}) FROM STDIN") as copy:
                    for i in range(args.customers):
                        unit, ins, mgr, dlv = template[i % len(template)]
                        fmt = FORMATS[i % len(FORMATS)]
                        shop = f"{rng.choice(WORDS)}{rng.choice(WORDS)}{fmt}{i % 997}"
                        copy.write_row((f"9{i:011d}", f"8{i:011d}", shop, "张三", "测试路1号", fmt,
                                        "城网", 1 + i % 30, "AA", unit, "ACTIVE",
                                        date(2027, 1, 1) + timedelta(days=i % 1500), ins, mgr,
                                        dlv, now))
                conn.commit()
                t1 = time.perf_counter()
                cur.execute("SELECT id FROM customer WHERE license_no LIKE '9%%' ORDER BY id "
                            "LIMIT %s", (args.with_history,))
                ids = [r[0] for r in cur.fetchall()]
                start = date.today() - timedelta(weeks=260)
                with cur.copy("COPY connectors_purchase (customer_id, source, source_key, "
                              "ordered_on, cartons, amount) FROM STDIN") as copy:
                    for cid in ids:
                        for w in range(260):
                            n = rng.randint(5, 40)
                            copy.write_row((cid, "marketing", f"O{cid}-{w}",
                                            start + timedelta(weeks=w), n, n * 180.0))
                with cur.copy("COPY connectors_delivery (customer_id, source, source_key, "
                              "planned_on, route, sign_status, exception_note) FROM STDIN") as copy:
                    for cid in ids:
                        for w in range(260):
                            copy.write_row((cid, "logistics", f"D{cid}-{w}",
                                            start + timedelta(weeks=w, days=1), "PS-01-01",
                                            "SIGNED" if w % 50 else "REFUSED", ""))
                with cur.copy("COPY connectors_field_change (customer_id, field, old, new, source, "
                              "event, changed_at) FROM STDIN") as copy:
                    for cid in ids:
                        for k in range(60):
                            copy.write_row((cid, "grade", str(10 + k % 5), str(11 + k % 5),
                                            "marketing", "GRADE_CHANGED",
                                            now - timedelta(days=30 * k)))
                conn.commit()
                # What autovacuum does soon after such a load (hint bits, visibility map,
                # statistics): measured on it, the first reads of each page stop dirtying it.
                conn.autocommit = True
                cur.execute("VACUUM (ANALYZE)")
                t2 = time.perf_counter()
            print(f"trace bench on PostgreSQL: {args.customers:,} customers by COPY in "
                  f"{t1 - t0:.1f} s; {len(ids)} with 5 years of weekly purchases and deliveries "
                  f"({t2 - t1:.1f} s incl. VACUUM)")

        with app.app_context():
            def count(*_args: object) -> None:
                STATEMENTS[0] += 1
            event.listen(app.extensions["portal"].db.engine, "before_cursor_execute", count)
            s = app.extensions["portal"].db.session()
            inspector = s.scalars(select(Person.username).where(
                Person.username == "zhuanguan01")).one()
            s.close()
        rng = random.Random(7)  # the same queries whether the database is new or reused
        # Prefixes of numbers that exist, 7 to 12 characters: from 100,000 matches down to one
        # (random digits would almost never match a million numbers of 12 digits).
        licence_prefixes = [f"9{rng.randrange(args.customers):011d}"[:rng.randint(7, 12)]
                            for _ in range(args.queries)]
        code_prefixes = [f"8{rng.randrange(args.customers):011d}"[:rng.randint(7, 12)]
                         for _ in range(args.queries)]
        names = [rng.choice(WORDS) + rng.choice(WORDS) for _ in range(args.queries)]
        for who in (inspector, "admin"):
            client = app.test_client()
            resp = client.post("/login", data={"username": who, "password": "bench-pw-1"})
            assert resp.status_code == 302, resp.status_code
            for q in ("warm", "9000", "永兴"):
                client.get(f"/p/customer_trace/?q={q}")
            print(f" as {who}:")
            ms = samples()
            for _ in range(args.queries):
                timed(client, "/p/customer_trace/", ms)
            report("floor: the search page, no query", ms, 30)
            for kind, qs in (("search: licence number prefix", licence_prefixes),
                             ("search: customer code prefix", code_prefixes),
                             ("search: part of the name", names)):
                ms = samples()
                for q in qs:
                    assert timed(client, f"/p/customer_trace/?q={q}", ms) == 200
                report(kind, ms, 30)
            # Only the pages this user may open: a refusal (403) is no page.
            seen = [cid for cid in ids
                    if client.get(f"/p/customer_trace/c/{cid}").status_code == 200]
            ms = samples()
            for i in range(args.queries if seen else 0):
                assert timed(client, f"/p/customer_trace/c/{seen[i % len(seen)]}", ms) == 200
            if ms["wall"]:
                report(f"customer page, 5 years ({len(seen)} customers)", ms, 50)
        app.extensions["portal"].db.engine.dispose()
    finally:
        if not keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
