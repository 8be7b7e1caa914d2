"""Benchmark of the workflow engine with the documents plugin's 发文 definition.

    .venv/bin/python bench/workflow.py [--open 500] [--rounds 300] [--pg]

Figures (printed; it never fails on a timing):

1. ``open_tasks`` for a department head holding N open tasks (one index range read):
   p50 / p95 / max.
2. The documents plugin's "my document tasks" list (tasks joined to their instances, the
   query behind the 公文待办 window and its to-do items), first 100: p50 / p95 / max.
3. ``act`` (approve one task, open the next step's tasks for every office clerk, history,
   event, notice) including its commit: p50 / p95 / max.

SQLite by default; ``--pg`` creates and drops a PostgreSQL database. The demo organisation
(no customers) gives the people and posts.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import homepage as hb  # the shared database helper


def figures(label: str, samples: list[float]) -> None:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    print(f"{label:<46} p50 {statistics.median(samples):7.2f} ms   p95 {p95:7.2f} ms   "
          f"max {samples[-1]:7.2f} ms   (n={len(samples)})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--open", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--pg", action="store_true")
    args = parser.parse_args()

    from sqlalchemy import select

    from portal import workflow as wf
    from portal.app import create_app
    from portal.demo.generate import run as demo
    from portal.migrate import upgrade
    from portal.models import Person
    from portlets.documents import lists

    with tempfile.TemporaryDirectory() as tmp, hb.database(args, Path(tmp)) as url:
        app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "TESTING": True})
        with app.app_context():
            upgrade(app)
        demo(app, customers=0)
        with app.test_request_context():
            s = app.extensions["portal"].db.session()
            ids = dict(s.execute(select(Person.username, Person.id).where(
                Person.username.in_(("kehu01", "bumen01")))).all())
            drafter, head = ids["kehu01"], ids["bumen01"]
            start = time.perf_counter()
            for i in range(args.open):
                inst = wf.start(s, "outgoing_document", subject_type="bench", subject_id=i,
                                initiator=drafter, data={"title": f"压测公文 {i}"})
                task = wf.open_task_for(s, inst.id, drafter)
                assert task is not None
                wf.act(s, task.id, drafter, "approve", expected_version=inst.version)
            s.commit()
            print(f"set-up: {args.open} documents submitted to bumen01 in "
                  f"{time.perf_counter() - start:.1f} s ({'PostgreSQL' if args.pg else 'SQLite'})")
            samples: list[float] = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                got = wf.open_tasks(s, head)
                samples.append((time.perf_counter() - t0) * 1000)
                s.expunge_all()
            assert len(got) == args.open
            figures(f"open_tasks, {args.open} open", samples)
            samples = []
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                rows = lists.my_tasks(s, head, limit=100)
                samples.append((time.perf_counter() - t0) * 1000)
            assert len(rows) == 100
            figures("documents my_tasks (first 100)", samples)
            samples = []
            for task in wf.open_tasks(s, head)[:min(args.rounds, args.open)]:
                t0 = time.perf_counter()
                inst = s.get(wf.Instance, task.instance_id)
                assert inst is not None
                wf.act(s, task.id, head, "approve", expected_version=inst.version)
                s.commit()
                samples.append((time.perf_counter() - t0) * 1000)
            figures("act (approve → 6 office tasks) + commit", samples)
        app.extensions["portal"].db.engine.dispose()


if __name__ == "__main__":
    main()
