"""Benchmark of sign-in through an upstream OpenID Connect provider (sso/upstream).

    .venv/bin/python bench/upstream_login.py [--signins 60] [--threads 4]

Two portals run in this process on werkzeug's threaded server (as in the tests): one is the
provider (sso/oidc), the other the relying party configured against it (SQLite each). Printed:

- *callback*: the relying party's own work per sign-in, ``GET /login/upstream/<name>/callback``
  (code exchange with the provider over HTTP, ID token checks with the cached JWKS,
  provisioning, ``sign_in``), with p50/p95; the steps before it (authorize, the provider's
  password form) are prepared first and not timed;
- *full*: complete sign-ins (six HTTP requests, including the provider's password check),
  from *threads* concurrent browsers.

It prints figures and never fails on a timing; it exits non-zero only when a sign-in fails.
The client, both servers and their GIL share the same cores: compare runs on one machine only.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.sso.upstream_support import Pair, callback_url, sign_in, start_pair


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def callbacks(pair: Pair, count: int) -> list[float]:
    prepared = []
    for _ in range(count):
        http = requests.Session()
        prepared.append((http, callback_url(pair, http, "zg")))
    took = []
    for http, url in prepared:
        start = time.perf_counter()
        r = http.get(url, allow_redirects=False, timeout=30)
        took.append(time.perf_counter() - start)
        if r.status_code != 302:
            raise SystemExit(f"callback failed: {r.status_code} {r.text[:300]}")
    return took


def full(pair: Pair, count: int, threads: int) -> tuple[float, list[float]]:
    took: list[float] = []
    lock = threading.Lock()
    errors: list[str] = []

    def worker(n: int) -> None:
        for _ in range(n):
            start = time.perf_counter()
            r = sign_in(pair, requests.Session(), "zg")
            with lock:
                took.append(time.perf_counter() - start)
                if r.url != pair.rp_url + "/":
                    errors.append(f"{r.status_code} {r.url}")

    begin = time.perf_counter()
    pool = [threading.Thread(target=worker, args=(count // threads,)) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    if errors:
        raise SystemExit(f"sign-in failed: {errors[0]}")
    return len(took) / (time.perf_counter() - begin), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--signins", type=int, default=60)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    closers: list[Callable[[], None]] = []
    with tempfile.TemporaryDirectory() as folder:
        pair = start_pair(Path(folder), f"sqlite:///{folder}/rp.db", closers.append)
        try:
            sign_in(pair, requests.Session(), "zg")  # warm-up: discovery and keys cached
            took = callbacks(pair, args.signins)
            print(f"callback (RP's own work): {len(took) / sum(took):7.1f}/s sequential, "
                  f"p50 {statistics.median(took) * 1000:6.1f} ms, "
                  f"p95 {_quantile(took, 0.95) * 1000:6.1f} ms  (n={len(took)})")
            rate, took = full(pair, args.signins, args.threads)
            print(f"full sign-in ({args.threads} browsers):  {rate:7.1f}/s, "
                  f"p50 {statistics.median(took) * 1000:6.1f} ms, "
                  f"p95 {_quantile(took, 0.95) * 1000:6.1f} ms  (n={len(took)})")
        finally:
            for close in reversed(closers):
                close()


if __name__ == "__main__":
    main()
