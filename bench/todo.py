"""Benchmark of the unified to-do list and of the archive's full-text search, in process, on
SQLite and on PostgreSQL.

    .venv/bin/python bench/todo.py [--db sqlite,postgresql] [--docs 100000] [--runs 200]

Prints figures and never fails on a timing (the machines are shared and noisy); it exits
non-zero only when the measurement is invalid (wrong number of items, a search finds nothing).
For each database, in a scratch database that is removed afterwards:

1. The organisation (a city and two counties), migrations of every plugin.
2. To-do: a user with 500 open items across plugins (250 collaboration items they hold, with
   deadlines; 246 unread notices; 3 failing connectors and a day's quarantined rows = 4
   connector alerts), behind 50,000 work items and 50,000 notice receipts of other people.
   Measured: ``todo_summary`` (what the to-do window and /todo/ call: every plugin's
   ``portal_todo_items``, merged and counted) and the whole /todo/ page. Target p95 ≤ 50 ms.
3. Archive: ``--docs`` documents of generated office text (portlets/archive/demo.py), shared
   with the city (60 %) or one county (20 % each), indexed with the same jieba tokens as the
   plugin writes (bulk-loaded), then VACUUM ANALYZE on PostgreSQL. Measured: the archive's
   ``portal_search`` (visibility, ranked search, snippets of the best 20) for a county
   inspector and for an admin, over a mix of common and rare queries, some with year/category
   filters. Target p95 ≤ 100 ms.
"""

from __future__ import annotations

import argparse
import functools
import random
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import report, scratch_database  # noqa: E402

TODO_TARGET_MS = 50.0
SEARCH_TARGET_MS = 100.0
QUERIES = ("专项整治", "卷烟", "许可证", "假冒伪劣卷烟", "物流配送", "档案 管理", "安全生产",
           "零售客户 许可证", "客户经理", "营销网格化管理", "消防安全隐患排查", "真烟外流",
           "党风廉政建设", "财务 预算", "会议纪要", "准运证")


class BenchError(RuntimeError):
    """The measurement is invalid."""


def make_app(url: str) -> Any:
    from portal.app import create_app
    from portal.migrate import upgrade

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "DEFAULT_LOCALE": "zh_CN", "TESTING": True, "PORTLET_CACHE": False})
    with app.app_context():
        upgrade(app)
    return app


def seed_org(s: Any) -> dict[str, Any]:
    from portal.models import OrgUnit, Person, Post, PostAssignment
    from portal.passwords import hash_password

    pw = hash_password("bench-123456")
    posts = {code: Post(code=code, name=code, name_en=code, roles=roles)
             for code, roles in (("inspector", ["staff"]), ("admin", ["admin"]))}
    s.add_all(posts.values())
    city = OrgUnit(code="JX", name="嘉兴市局", kind="city")
    s.add(city)
    s.flush()
    city.path = f"/{city.id}/"
    counties = []
    for code, name in (("HN", "海宁市局"), ("TX", "桐乡市局")):
        u = OrgUnit(code=code, name=name, kind="county", parent_id=city.id)
        s.add(u)
        s.flush()
        u.path = f"{city.path}{u.id}/"
        counties.append(u)
    people = {}
    for username, post, unit in (("admin", "admin", city), ("zg", "inspector", counties[0])):
        p = Person(username=username, display_name=username, org_unit_id=unit.id,
                   password_hash=pw)
        s.add(p)
        s.flush()
        s.add(PostAssignment(person_id=p.id, post_id=posts[post].id, org_unit_id=unit.id))
        people[username] = p.id
    others = []
    for n in range(200):
        p = Person(username=f"other{n}", display_name=f"同事{n}",
                   org_unit_id=counties[n % 2].id, password_hash=pw)
        s.add(p)
        s.flush()
        others.append(p.id)
    s.commit()
    return {"city": city.id, "counties": [c.id for c in counties], "people": people,
            "others": others}


def seed_todo(s: Any, org: dict[str, Any], me: int) -> None:
    """500 open items for *me* behind 50,000 work items and notice receipts of others."""
    from sqlalchemy import insert

    from connectors.models import ConnectorState, ExchangeLog
    from portlets.collab.models import WorkItem
    from portlets.notices.models import Notice, NoticeReceipt

    now = datetime.now()
    rng = random.Random(5)
    states = ("handling", "pending", "finished", "archived", "rated")
    rows = []
    for n in range(50_250):
        mine = n < 250
        holder = me if mine else rng.choice(org["others"])
        rows.append({"type_code": "customer_service", "subject": f"协同事项{n}",
                     "content": "<p>请核实</p>", "originator_id": rng.choice(org["others"]),
                     "state": "handling" if mine else rng.choice(states), "version": 1,
                     "handler_person_id": holder, "escalation_level": 0,
                     "created_at": now - timedelta(days=rng.randint(1, 300)), "updated_at": now,
                     "submitted_at": now, "handed_at": now,
                     "due_at": now + timedelta(hours=rng.randint(-48, 400)), "result": "",
                     "overdue": 0})
    for start in range(0, len(rows), 5000):
        s.execute(insert(WorkItem), rows[start:start + 5000])
    notices = [{"title": f"通知{n}", "content": "<p>请阅</p>", "sender_name": "办公室",
                "kind": "notice", "link": "", "submitted_at": now - timedelta(minutes=n)}
               for n in range(1000)]
    s.execute(insert(Notice), notices)
    ids = [i for (i,) in s.execute(Notice.__table__.select().with_only_columns(Notice.id))]
    receipts = [{"notice_id": ids[n], "person_id": me, "read_at": None} for n in range(246)]
    receipts += [{"notice_id": ids[n], "person_id": me, "read_at": now} for n in range(246, 400)]
    seen = set()
    while len(receipts) < 50_400:
        pair = (rng.choice(ids), rng.choice(org["others"]))
        if pair not in seen:
            seen.add(pair)
            receipts.append({"notice_id": pair[0], "person_id": pair[1],
                             "read_at": None if rng.random() < 0.5 else now})
    for start in range(0, len(receipts), 10_000):
        s.execute(insert(NoticeReceipt), receipts[start:start + 10_000])
    for source in ("monopoly", "marketing", "logistics"):
        s.add(ConnectorState(source=source, failures=2, last_error="timeout",
                             last_run_at=now))
    s.add_all(ExchangeLog(source="monopoly", status="quarantined", reason="bad",
                          created_at=now - timedelta(minutes=n * 20)) for n in range(200))
    s.commit()


@functools.cache
def _tokens(sentence: str) -> str:
    from portlets.archive import segment

    return segment.index_text(sentence)


def index_text(text: str) -> str:
    """The plugin's ``segment.index_text``, one sentence at a time with a cache: the generated
    text repeats its sentences, and sentence ends are word boundaries anyway."""
    return " ".join(_tokens(part) for part in text.replace("。", "。\n").splitlines() if part)


def seed_archive(app: Any, org: dict[str, Any], docs: int) -> None:
    from sqlalchemy import insert, text

    from portlets.archive.demo import generate
    from portlets.archive.models import ArchiveAccess, ArchiveRecord

    with app.app_context():
        s = app.extensions["portal"].db.session()
        pg = s.get_bind().dialect.name == "postgresql"
        rng = random.Random(11)
        batch: list[dict[str, Any]] = []
        next_id = 1

        def flush() -> None:
            s.execute(insert(ArchiveRecord), batch)
            access = []
            for r in batch:
                roll = rng.random()
                unit = org["city"] if roll < 0.6 else org["counties"][0 if roll < 0.8 else 1]
                access.append({"record_id": r["id"], "unit_id": unit})
            s.execute(insert(ArchiveAccess), access)
            tokens = [{"id": r["id"], "t": index_text(r["title"]),
                       "b": index_text(f"{r['number']} {r['issuer']} {r['body']}")}
                      for r in batch]
            if pg:
                s.execute(text(
                    "UPDATE archive_record SET tsv = setweight(to_tsvector('simple', :t), 'A')"
                    " || setweight(to_tsvector('simple', :b), 'B') WHERE id = :id"), tokens)
            else:
                s.execute(text("INSERT INTO archive_fts (rowid, title, body) "
                               "VALUES (:id, :t, :b)"), tokens)
            s.commit()
            batch.clear()

        for row in generate(docs, seed=3):
            batch.append({**row, "id": next_id, "source": "bench", "unit_id": org["city"],
                          "url": "", "created_at": datetime.now()})
            next_id += 1
            if len(batch) == 2000:
                flush()
        if batch:
            flush()
        if pg:
            vacuum(app)


def vacuum(app: Any) -> None:
    """What autovacuum does to a loaded table: statistics and the visibility map."""
    from sqlalchemy import text

    engine = app.extensions["portal"].db.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE"))


def principal(app: Any, username: str) -> Any:
    from portal.models import Person
    from portal.toolkit import Principal

    with app.app_context():
        p = app.extensions["portal"].db.session().query(Person).filter_by(
            username=username).one()
        return Principal(person_id=p.id, username=username, display_name=username,
                         org_unit_id=p.org_unit_id,
                         roles=("admin",) if username == "admin" else ("staff",),
                         posts=("admin",) if username == "admin" else ("inspector",))


def timed(fn: Any, runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t) * 1000)
    return out


def bench_todo(app: Any, kind: str, runs: int) -> None:
    from portal.todo import todo_summary

    me = principal(app, "admin")
    with app.test_request_context():
        summary = todo_summary(me)
        if summary.total != 500 or len(summary.items) != 500:
            raise BenchError(f"expected 500 open items, got {summary.total}: {summary.counts}")
        print(f"[{kind}] to-do items per source: {dict(summary.counts)}")
        for _ in range(5):
            todo_summary(me)
        report(f"[{kind}] todo_summary, 500 items", timed(lambda: todo_summary(me), runs),
               TODO_TARGET_MS)
    client = app.test_client()
    r = client.post("/login", data={"username": "admin", "password": "bench-123456"})
    if r.status_code != 302:
        raise BenchError(f"sign-in failed: {r.status_code}")

    def page() -> None:
        if client.get("/todo/").status_code != 200:
            raise BenchError("/todo/ failed")

    for _ in range(3):
        page()
    report(f"[{kind}] GET /todo/ (500 rows rendered)", timed(page, max(20, runs // 4)))


def bench_search(app: Any, kind: str, runs: int) -> None:
    from portlets.archive import access, index
    from portlets.archive.models import ArchiveRecord
    from portlets.archive.plugin import portal_search

    rng = random.Random(1)
    for username in ("zg", "admin"):
        who = principal(app, username)
        with app.test_request_context():
            for q in QUERIES:
                if not list(portal_search(principal=who, query=q)):
                    raise BenchError(f"{q!r} found nothing")
            s = app.extensions["portal"].db.session()
            per_query: dict[str, list[float]] = {}

            def one(who: Any = who, s: Any = s, per_query: dict[str, list[float]] = per_query
                    ) -> None:
                q = rng.choice(QUERIES)
                t = time.perf_counter()
                if rng.random() < 0.3:
                    where = index.visible_to(access.visible_units(s, who)) & (
                        ArchiveRecord.year == rng.randint(2016, 2026)) & (
                        ArchiveRecord.category == "document")
                    page = index.search(s, q, where, limit=20)
                    [index.snippet(h.record.body, page.words) for h in page.hits]
                else:
                    list(portal_search(principal=who, query=q))
                per_query.setdefault(q, []).append((time.perf_counter() - t) * 1000)

            ms = timed(one, runs)
            report(f"[{kind}] archive search as {username}", ms, SEARCH_TARGET_MS)
            worst = sorted(per_query.items(), key=lambda kv: -max(kv[1]))[:3]
            print(f"[{kind}]   slowest queries: " + ", ".join(
                f"{q} {max(v):.0f} ms" for q, v in worst))
            counts = index.search(s, "卷烟", index.visible_to(access.visible_units(s, who)))
            print(f"[{kind}]   matches for 卷烟: {counts.total}{'+' if counts.capped else ''}")


def run(kind: str, args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-todo-") as scratch, \
            scratch_database(kind, Path(scratch)) as url:
        app = make_app(url)
        with app.app_context():
            s = app.extensions["portal"].db.session()
            org = seed_org(s)
            t = time.perf_counter()
            seed_todo(s, org, org["people"]["admin"])
            print(f"[{kind}] to-do data seeded in {time.perf_counter() - t:.1f} s")
            if kind == "postgresql":
                vacuum(app)
        bench_todo(app, kind, args.runs)
        t = time.perf_counter()
        seed_archive(app, org, args.docs)
        print(f"[{kind}] {args.docs} archive documents indexed in "
              f"{time.perf_counter() - t:.1f} s")
        bench_search(app, kind, args.runs)
        app.extensions["portal"].db.engine.dispose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--docs", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    import os

    print(f"load average: {os.getloadavg()}, cores: {os.cpu_count()}")
    try:
        for kind in args.db.split(","):
            run(kind.strip(), args)
    except BenchError as exc:
        print(f"invalid measurement: {exc}", file=sys.stderr)
        return 1
    print(f"load average: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
