"""Benchmark of meeting-room booking and the calendar export on PostgreSQL.

    .venv/bin/python bench/affairs.py [--bookings 20000] [--tries 200] [--threads 8]

Prints figures, never fails on a timing (the machines are shared and noisy). Steps:

1. A fresh PostgreSQL database (created, dropped afterwards), migrations, the test
   organisation, 10 rooms and ``--bookings`` bookings over a year (one person holds 500).
2. ``--tries`` bookings through ``service.book`` (lock the room row, overlap check, insert,
   commit), about half of them refused as overlaps: p50 / p95, in a session that starts
   empty like a request's, and the SQL statements of one success and one refusal.
3. ``--threads`` threads booking the same room at once, each 25 random slots of one day:
   successes, refusals, and the overlaps left in the table (must be 0).
4. The unified calendar of the person with 500 bookings: ``calendar_events`` for one month and
   ``/calendar/ics`` (a month back, a year ahead) through the test client: p50 / p95.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import threading
import time
import uuid
from datetime import date, datetime, timedelta
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bookings", type=int, default=20000)
    parser.add_argument("--tries", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()

    from sqlalchemy import event, text

    from portal.toolkit import Principal, calendar_events
    from portlets.affairs import service
    from portlets.affairs.errors import Conflict
    from portlets.affairs.models import Booking, Room
    from tests.conftest import PASSWORD, make_app, seed_org

    name = f"bench_affairs_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        app = make_app(f"{base}/{name}", DEFAULT_LOCALE="en")
        org = seed_org(app)
        rng = random.Random(7)
        people = list(org.people.values())
        me = org.people["zg"]
        others = [p for p in people if p != me]
        first_day = date.today()
        with app.app_context():
            s = app.extensions["portal"].db.session()
            rooms = [Room(name=f"会议室{i}", location="", capacity=10, active=True,
                          lock_version=0) for i in range(10)]
            s.add_all(rooms)
            s.flush()
            rows, taken = [], set()
            while len(rows) < args.bookings:
                day = first_day + timedelta(days=rng.randrange(1, 366))
                room = rng.choice(rooms).id
                hour = rng.randrange(8, 18)
                if (room, day, hour) in taken:
                    continue
                taken.add((room, day, hour))
                start = datetime.combine(day, datetime.min.time()) + timedelta(hours=hour)
                rows.append(Booking(room_id=room, title="例会", start_at=start,
                                    end_at=start + timedelta(hours=1),
                                    booker_id=me if len(rows) < 500 else rng.choice(others),
                                    cancelled=False, created_at=datetime.now()))
            s.add_all(rows)
            s.commit()
            s.execute(text("ANALYZE"))
            print(f"{args.bookings} bookings in 10 rooms over a year; 500 of them zg's")
            # A request starts with an empty session. Left holding the 20,000 rows above, every
            # rollback (a refused overlap) expired all of them: ~230 ms of a refusal's time
            # was the benchmark's own set-up, not the booking.
            room_ids = [r.id for r in rooms]
            del rows
            s.expunge_all()

            principal = Principal(person_id=me, username="zg", display_name="zg",
                                  org_unit_id=org.unit_a)
            times, refused = [], 0
            statements: dict[str, int] = {}
            counter = [0]

            def count(*_args: object) -> None:
                counter[0] += 1

            engine = app.extensions["portal"].db.engine
            event.listen(engine, "before_cursor_execute", count)
            for _ in range(args.tries):
                day = first_day + timedelta(days=rng.randrange(1, 366))
                start = datetime.combine(day, datetime.min.time()) + \
                    timedelta(hours=rng.randrange(8, 18), minutes=rng.choice((0, 30)))
                counter[0] = 0
                t0 = time.perf_counter()
                try:
                    service.book(s, principal, rng.choice(room_ids), "基准测试", start,
                                 start + timedelta(minutes=60))
                    s.commit()
                    outcome = "booked"
                except Conflict:
                    s.rollback()
                    refused += 1
                    outcome = "refused"
                times.append(time.perf_counter() - t0)
                statements[outcome] = counter[0]
            event.remove(engine, "before_cursor_execute", count)
            print(f"book (lock, check, insert, commit) x{args.tries}: p50 {pct(times, 50):.1f} ms,"
                  f" p95 {pct(times, 95):.1f} ms; refused as overlaps: {refused}; SQL "
                  f"statements: {statements.get('booked')} per booking, "
                  f"{statements.get('refused')} per refusal")
            room_id = room_ids[0]
            race_day = first_day + timedelta(days=400)

        counts = {"booked": 0, "refused": 0}
        lock = threading.Lock()

        def worker(seed: int) -> None:
            r = random.Random(seed)
            with app.app_context():
                s2 = app.extensions["portal"].db.session()
                who = Principal(person_id=people[seed % len(people)], username="x",
                                display_name="x", org_unit_id=None)
                for _ in range(25):
                    start = datetime.combine(race_day, datetime.min.time()) + \
                        timedelta(hours=8, minutes=15 * r.randrange(0, 40))
                    try:
                        service.book(s2, who, room_id, "并发", start,
                                     start + timedelta(minutes=15 * r.randrange(1, 5)))
                        s2.commit()
                        key = "booked"
                    except Conflict:
                        s2.rollback()
                        key = "refused"
                    with lock:
                        counts[key] += 1

        t0 = time.perf_counter()
        threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.threads)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - t0
        with app.app_context():
            s = app.extensions["portal"].db.session()
            overlaps = s.execute(text(
                "SELECT count(*) FROM affairs_booking a JOIN affairs_booking b "
                "ON a.room_id = b.room_id AND a.id < b.id AND NOT a.cancelled "
                "AND NOT b.cancelled AND a.start_at < b.end_at AND b.start_at < a.end_at"
            )).scalar()
        total = counts["booked"] + counts["refused"]
        print(f"{args.threads} threads x 25 bookings of one room on one day: {counts['booked']} "
              f"booked, {counts['refused']} refused, {total / elapsed:.0f} attempts/s; "
              f"overlapping pairs in the table: {overlaps}")

        with app.test_request_context():
            month_start = datetime.combine(first_day, datetime.min.time())
            times = []
            for _ in range(50):
                t0 = time.perf_counter()
                events = calendar_events(principal, month_start, month_start + timedelta(days=31))
                times.append(time.perf_counter() - t0)
            print(f"calendar_events, one month ({len(events)} events): p50 {pct(times, 50):.1f} "
                  f"ms, p95 {pct(times, 95):.1f} ms")
        client = app.test_client()
        client.post("/login", data={"username": "zg", "password": PASSWORD})
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            response = client.get("/calendar/ics")
            times.append(time.perf_counter() - t0)
        assert response.status_code == 200, response.status_code
        body = response.get_data()
        print(f"/calendar/ics ({body.count(b'BEGIN:VEVENT')} events, {len(body) // 1024} KB): "
              f"p50 {pct(times, 50):.1f} ms, p95 {pct(times, 95):.1f} ms")
        app.extensions["portal"].db.engine.dispose()
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
