"""Benchmark of the indicators on PostgreSQL: recomputing the snapshots over 1,000,000
customers and a year of orders, and the indicator portlets read from the snapshots.

    .venv/bin/python bench/kpi.py [--customers 1000000] [--orders 12] [--requests 300]

Steps: a fresh PostgreSQL database (dropped at the end); the demo organisation (2,000
retailers, for its units and staff, with its own demo records); then, with SQL
``generate_series`` inside PostgreSQL, ``--customers`` more customers copying the demo's
units and staff, ``--orders`` orders a year per customer (default 12: one a month — see the
note printed), deliveries for the last three months, an inspection of a quarter of the
customers each month, cases for 0.5 % a month, monthly plans; indexes are built after the
load, as a bulk load does; ANALYZE. Then it times, each on its own:

- the integrity stars over every customer (first rating, then a re-run that changes nothing);
- ``recompute --period day`` for today: all daily snapshots (target ≤ 60 s);
- the month-to-date and year-to-date periods (reported, no target);
- the 我的指标 / 团队指标 windows rendered from the snapshots, uncached, through
  ``/w/<page>/<window>`` for an account manager, a department head and a leader
  (target p95 ≤ 30 ms), next to the floor of the same request path (the profile window).

Prints figures only; never fails on a timing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PASSWORD = "bench-pw-1"

PURCHASE_INDEXES = ("ix_connectors_purchase_customer", "ix_connectors_purchase_day")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def report(kind: str, ms: list[float], target: float | None) -> None:
    goal = f"   (target p95 ≤ {target:.0f} ms)" if target else ""
    print(f"  {kind:<42} n={len(ms):>4}  p50 {statistics.median(ms):6.1f} ms  "
          f"p95 {pct(ms, 95):6.1f} ms  max {max(ms):6.1f} ms{goal}")


def generate(dsn: str, customers: int, orders: int) -> None:
    """Everything inside PostgreSQL (generate_series): no rows travel through Python."""
    step = max(1, 365 // max(1, orders))
    with psycopg.connect(dsn, autocommit=True) as conn:
        t = time.perf_counter()

        def done(what: str) -> None:
            nonlocal t
            now = time.perf_counter()
            print(f"  {what:<58} {now - t:6.1f} s")
            t = now

        conn.execute("""CREATE TEMP TABLE tpl AS
            SELECT row_number() OVER (ORDER BY id) - 1 AS k, org_unit_id, inspector_id,
                   account_manager_id, deliveryman_id
            FROM customer WHERE inspector_id IS NOT NULL AND account_manager_id IS NOT NULL
              AND deliveryman_id IS NOT NULL""")
        n_tpl = conn.execute("SELECT count(*) FROM tpl").fetchone()[0]  # type: ignore[index]
        conn.execute(f"""INSERT INTO customer (license_no, customer_code, name, operator_name,
              address, business_format, market_type, grade, credit_level, org_unit_id, status,
              license_valid_to, inspector_id, account_manager_id, deliveryman_id, updated_at)
            SELECT '9' || lpad(g::text, 11, '0'), '8' || lpad(g::text, 11, '0'),
                   '压测便利店' || g, '张三', '测试路' || (g % 999) || '号', '便利店', '城网',
                   1 + g % 30,
                   CASE WHEN g % 97 = 0 THEN 'C' WHEN g % 41 = 0 THEN 'A'
                        WHEN g % 53 = 0 THEN 'AAA' ELSE 'AA' END,
                   t.org_unit_id, 'ACTIVE', date '2030-01-01', t.inspector_id,
                   t.account_manager_id, t.deliveryman_id, now()
            FROM generate_series(1, {customers}) g JOIN tpl t ON t.k = g % {n_tpl}""")
        done(f"{customers:,} customers")
        for ix in PURCHASE_INDEXES:
            conn.execute(f"DROP INDEX IF EXISTS {ix}")
        conn.execute("ALTER TABLE connectors_purchase DROP CONSTRAINT IF EXISTS "
                     "uq_connectors_purchase_source")
        conn.execute(f"""INSERT INTO connectors_purchase (customer_id, source, source_key,
              ordered_on, cartons, own_cartons, amount)
            SELECT c.id, 'bench', c.id || '-' || m,
                   current_date - {step} * m - (c.id % {step}),
                   8 + (c.id * 7 + m * 13) % 40,
                   (8 + (c.id * 7 + m * 13) % 40) * (40 + (c.id + m) % 45) / 100,
                   (8 + (c.id * 7 + m * 13) % 40) * 180.0
            FROM customer c CROSS JOIN generate_series(0, {orders - 1}) m
            WHERE c.license_no LIKE '9%'""")
        done(f"{customers * orders:,} orders (a year, {orders} per customer)")
        conn.execute("CREATE INDEX ix_connectors_purchase_customer ON connectors_purchase "
                     "(customer_id, ordered_on)")
        conn.execute("CREATE INDEX ix_connectors_purchase_day ON connectors_purchase "
                     "(ordered_on)")
        conn.execute("ALTER TABLE connectors_purchase ADD CONSTRAINT "
                     "uq_connectors_purchase_source UNIQUE (source, source_key)")
        done("their indexes")
        months = min(3, orders)
        conn.execute(f"""INSERT INTO connectors_delivery (customer_id, source, source_key,
              planned_on, route, sign_status, exception_note)
            SELECT customer_id, 'bench', source_key, ordered_on + 1, '',
                   CASE WHEN id % 97 = 0 THEN 'REFUSED' WHEN id % 53 = 0 THEN 'PROXY'
                        ELSE 'SIGNED' END, ''
            FROM connectors_purchase WHERE source = 'bench'
              AND ordered_on > current_date - {30 * months}""")
        done(f"deliveries of the last {months} months")
        conn.execute("""INSERT INTO connectors_inspection (customer_id, source, source_key,
              inspector_id, inspected_on, violation)
            SELECT c.id, 'bench', c.id || '-' || m, c.inspector_id,
                   current_date - 30 * m - (c.id % 28), (c.id + m) % 37 = 0
            FROM customer c CROSS JOIN generate_series(0, 11) m
            WHERE c.license_no LIKE '9%' AND (c.id + m) % 4 = 0""")
        conn.execute("""INSERT INTO connectors_case (customer_id, source, source_key, case_type,
              status, filed_on)
            SELECT c.id, 'bench', c.id || '-' || m,
                   (ARRAY['FAKE','SMUGGLED','ILLICIT_CHANNEL','NONLOCAL_PURCHASE'])[1 + c.id % 4],
                   'CLOSED', current_date - 30 * m - (c.id % 28)
            FROM customer c CROSS JOIN generate_series(0, 11) m
            WHERE c.license_no LIKE '9%' AND (c.id * 31 + m) % 200 = 0""")
        conn.execute("""INSERT INTO connectors_sales_plan (month, person_id, org_unit_id,
              cartons)
            SELECT (date_trunc('month', current_date) - make_interval(months => m))::date,
                   p.person_id, p.org_unit_id, p.cartons
            FROM (SELECT c.account_manager_id AS person_id, min(pe.org_unit_id) AS org_unit_id,
                         (count(*) * 27)::int AS cartons
                  FROM customer c JOIN person pe ON pe.id = c.account_manager_id
                  GROUP BY c.account_manager_id) p
            CROSS JOIN generate_series(0, 11) m
            ON CONFLICT DO NOTHING""")
        done("inspections, cases, plans")
        conn.execute("ANALYZE")
        done("ANALYZE")
        for table in ("customer", "connectors_purchase", "connectors_delivery",
                      "connectors_inspection", "connectors_case"):
            n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # type: ignore[index]
            print(f"  {table:<24} {n:>12,} rows")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--orders", type=int, default=12, help="orders per customer in the year")
    ap.add_argument("--requests", type=int, default=300)
    ap.add_argument("--keep", action="store_true", help="do not drop the database")
    args = ap.parse_args()

    from sqlalchemy import select

    from connectors.stars import StarRule
    from connectors.stars import recompute as stars
    from portal.app import create_app
    from portal.demo.generate import run as demo
    from portal.migrate import upgrade
    from portal.models import Person
    from portlets.indicators.recompute import recompute

    name = f"portal_bench_kpi_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = f"postgresql://postgres@127.0.0.1:5432/{name}"
    try:
        app = create_app({"DATABASE_URL": dsn.replace("postgresql://", "postgresql+psycopg://"),
                          "SECRET_KEY": "bench", "LAYOUTS_DIR": str(ROOT / "layouts"),
                          "WTF_CSRF_ENABLED": False, "DEMO_PASSWORD": PASSWORD,
                          "PORTLET_CACHE": False, "INDICATORS_RECOMPUTE_SECONDS": 0})
        print(f"indicators bench on PostgreSQL ({args.customers:,} customers); generation:")
        t0 = time.perf_counter()
        with app.app_context():
            upgrade(app)
            demo(app, customers=2000)
        print(f"  {'demo organisation, 2,000 retailers + their demo records':<58} "
              f"{time.perf_counter() - t0:6.1f} s")
        generate(dsn, args.customers, args.orders)

        today = date.today()
        with app.app_context():
            s = app.extensions["portal"].db.session()
            rule = StarRule.from_settings(app.extensions["portal"].settings)
            print("recompute (wall clock, each step on its own):")
            for label in ("integrity stars, every customer (first rating)",
                          "integrity stars again (nothing changes)"):
                t = time.perf_counter()
                first, changed = stars(s, rule, today)
                s.commit()
                print(f"  {label:<58} {time.perf_counter() - t:6.1f} s  "
                      f"({first:,} rated, {changed:,} changed)")
            for periods, label in ((("day",), "all daily snapshots (--period day)"),
                                   (("month",), "month to date (--period month)"),
                                   (("year",), "year to date (--period year)")):
                t = time.perf_counter()
                result = recompute(app, s, today, periods, jobs=False)
                extra = "   (target ≤ 60 s)" if periods == ("day",) else ""
                print(f"  {label:<58} {time.perf_counter() - t:6.1f} s  "
                      f"({result.rows:,} snapshots){extra}")
                assert not result.failed, result.failed
            t = time.perf_counter()
            result = recompute(app, s, today, ("day",))
            print(f"  {'the daily job: stars + all daily snapshots':<58} "
                  f"{time.perf_counter() - t:6.1f} s")
            s.close()

        print(f"portlets from the snapshots, uncached (/w/<page>/<window>, {args.requests} "
              f"requests each):")
        layout_post = {"kehu01": "account_manager", "bumen01": "dept_head",
                       "lingdao01": "leader"}
        with app.app_context():
            s = app.extensions["portal"].db.session()
            present = set(s.scalars(select(Person.username).where(
                Person.username.in_(list(layout_post)))))
            s.close()
        for who, post in layout_post.items():
            if who not in present:
                continue
            client = app.test_client()
            resp = client.post("/login", data={"username": who, "password": PASSWORD})
            assert resp.status_code == 302, resp.status_code
            page = f"{post}.home"
            windows = {}
            version = 0
            for portlet in ("indicators_mine", "indicators_team", "profile"):
                r = client.post(f"/layout/{page}/add", json={"version": version,
                                                           "portlet": portlet})
                if r.status_code == 200:
                    version = r.get_json()["version"]
                    added = [w for w in r.get_json()["windows"] if w["portlet"] == portlet]
                    windows[portlet] = added[-1]["id"]
            print(f" as {who} ({post}):")
            for portlet, window in windows.items():
                for _ in range(5):
                    client.get(f"/w/{page}/{window}")
                ms = []
                for _ in range(args.requests):
                    t = time.perf_counter()
                    r = client.get(f"/w/{page}/{window}")
                    ms.append((time.perf_counter() - t) * 1000)
                    assert r.status_code == 200, (portlet, r.status_code)
                label = "floor: the profile window" if portlet == "profile" else portlet
                report(label, ms, None if portlet == "profile" else 30)
        app.extensions["portal"].db.engine.dispose()
    finally:
        if not args.keep:
            with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
