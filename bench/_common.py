"""Helpers shared by the in-process benchmarks (bench/todo.py; others may move here): a scratch
database on SQLite or PostgreSQL, percentiles, one report line per figure."""

from __future__ import annotations

import os
import statistics
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PG_ADMIN = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@contextmanager
def scratch_database(kind: str, folder: Path, keep: bool = False) -> Iterator[str]:
    """A fresh database URL: a file in *folder* for ``sqlite``, or a PostgreSQL database
    created now and dropped afterwards (unless *keep*) for ``postgresql``."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / 'bench.db'}"
        return
    import psycopg

    name = f"portal_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
    try:
        yield f"{base}/{name}"
    finally:
        if keep:
            print(f"database kept: {name}")
        else:
            with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=10) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def pct(values: list[float], q: float) -> float:
    """The *q* quantile (0..1) of *values*, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def report(name: str, ms: list[float], target: float | None = None) -> str:
    """One line: count, min (the cost without contention: the machines are shared), p50, p95,
    max (and the target p95, with whether it was met)."""
    line = (f"{name}: n={len(ms)} min={min(ms):.1f} p50={statistics.median(ms):.1f} ms "
            f"p95={pct(ms, 0.95):.1f} ms max={max(ms):.1f} ms")
    if target is not None:
        verdict = "met" if pct(ms, 0.95) <= target else "NOT met"
        line += f" (target p95 ≤ {target:.0f} ms: {verdict})"
    print(line, flush=True)
    return line
