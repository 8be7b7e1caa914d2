"""The homepage benchmark's ratios, counted in instructions a served request instead of requests/s.

    .venv/bin/python bench/homepage_instructions.py [--requests 40] [--against ../other-checkout]

``bench/homepage.py`` measures what the issue asks (requests/s of gunicorn under wrk, against a
bare Flask "hello" app in the same run), but on these machines the rate swings by a factor of
two within a minute, and each of the three servers is hit at a different moment. This script
serves the same three apps the same way (gunicorn, ``gthread``, one worker: a request costs the
same in either of the benchmark's two) under valgrind's callgrind, sends each one ``--requests``
requests on one kept-alive connection, as wrk does, after a warm-up, and reads the worker's
instruction count before and after (``callgrind_control --dump``). The counts repeat to a few
tenths of a per cent whatever else the machine does, so their ratios say what the
requests/s ratios would be on a machine that kept its speed, and two checkouts compare.

It needs valgrind (``apt-get install valgrind``), Redis, and the demo data (built in a scratch
folder, as ``bench/homepage.py`` does). It prints figures and never fails on them; it exits
non-zero when a measurement is invalid (a server does not start, sign-in fails, the homepage is
not whole).
"""

from __future__ import annotations

import argparse
import http.client
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import homepage as hp

TOTALS = re.compile(r"^(?:summary|totals): (\d+)", re.MULTILINE)
#: Under valgrind a page is fifty times slower: no window may time out.
SLOW_MACHINE = {"PORTAL_PORTLET_TIMEOUT_SCALE": "100"}


@dataclass
class Count:
    label: str
    instructions: float  # a request, on average
    size: int  # bytes of the last response
    target: float | None = None  # the floor / this ratio for the page, if it has one


class CountedServer:
    """gunicorn with one worker under callgrind, and a kept-alive connection to it."""

    def __init__(self, label: str, app: str, env: dict[str, str], cwd: Path,
                 scratch: Path) -> None:
        port = hp.free_port()
        self.out = scratch / f"callgrind-{label}"
        self.out.mkdir()
        log_path = scratch / f"{label}.log"
        cmd = ["valgrind", "--tool=callgrind", "--trace-children=yes",
               f"--callgrind-out-file={self.out}/cg.%p",
               sys.executable, "-m", "gunicorn", "--bind", f"{hp.HOST}:{port}",
               "--workers", "1", "--worker-class", "gthread", "--threads", "4",
               # Counting requests wait for callgrind's dumps: keep the connection that long.
               "--timeout", "600", "--keep-alive", "600",
               "--error-logfile", str(log_path), app]
        hp.log(f"starting {label} under callgrind")
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                start_new_session=True)
        self.server = hp.Server(label, proc, port, log_path)
        self.conn: http.client.HTTPConnection | None = None
        self.cookie: str | None = None

    @property
    def label(self) -> str:
        return self.server.name

    def wait_ready(self, path: str) -> None:
        deadline = time.monotonic() + 300  # a Python start under valgrind takes a while
        while time.monotonic() < deadline:
            if self.server.proc.poll() is not None:
                raise hp.BenchError(f"{self.label}: gunicorn exited "
                                    f"({self.server.proc.returncode}):\n{self.server.log_tail()}")
            try:
                self.get(path, expect=None)
                return
            except hp.BenchError:
                time.sleep(1)
        raise hp.BenchError(f"{self.label}: not answering after 300 s:\n"
                            f"{self.server.log_tail()}")

    def get(self, path: str = "/", expect: int | None = 200) -> bytes:
        if self.conn is None:
            self.conn = http.client.HTTPConnection(hp.HOST, self.server.port, timeout=600)
        headers = {"Cookie": f"portal_session={self.cookie}"} if self.cookie else {}
        try:
            self.conn.request("GET", path, headers=headers)
            resp = self.conn.getresponse()
            body = resp.read()
        except (OSError, http.client.HTTPException) as exc:
            self.conn.close()
            self.conn = None
            raise hp.BenchError(f"{self.label}: GET {path}: {exc!r}") from None
        if expect is not None and resp.status != expect:
            raise hp.BenchError(f"{self.label}: GET {path}: HTTP {resp.status}")
        return body

    def worker(self) -> int:
        pids = self.server.workers()
        if len(pids) != 1:
            raise hp.BenchError(f"{self.label}: expected one gunicorn worker, found {pids}")
        return pids[0]

    def instructions_so_far(self, pid: int) -> int:
        """Dump the worker's counts (each dump holds those since the one before) and add up
        every dump written so far."""
        before = set(self.out.glob(f"cg.{pid}*"))
        subprocess.run(["callgrind_control", "--dump", str(pid)], capture_output=True,
                       timeout=120, check=False)
        deadline = time.monotonic() + 60
        while not (set(self.out.glob(f"cg.{pid}.*")) - before):
            if time.monotonic() > deadline:
                raise hp.BenchError(f"{self.label}: callgrind wrote no dump for worker {pid}")
            time.sleep(0.2)
        time.sleep(0.5)  # let valgrind finish writing the file
        total = 0
        for dump in self.out.glob(f"cg.{pid}.*"):
            found = TOTALS.search(dump.read_text(errors="replace"))
            if found is None:
                raise hp.BenchError(f"{self.label}: no totals in {dump.name}")
            total += int(found.group(1))
        return total

    def stop(self) -> None:
        if self.conn is not None:
            self.conn.close()
        hp.stop(self.server)


@contextmanager
def counted(label: str, app: str, env: dict[str, str], cwd: Path, scratch: Path,
            ready_path: str) -> Iterator[CountedServer]:
    server = CountedServer(label, app, env, cwd, scratch)
    try:
        server.wait_ready(ready_path)
        yield server
    finally:
        server.stop()


def count(server: CountedServer, requests: int, warmup: int,
          target: float | None = None) -> Count:
    body = b""
    for _ in range(warmup):
        body = server.get()
    pid = server.worker()
    start = server.instructions_so_far(pid)
    for _ in range(requests):
        body = server.get()
    spent = server.instructions_so_far(pid) - start
    return Count(server.label, spent / requests, len(body), target)


def check_page(label: str, body: bytes) -> None:
    html = body.decode("utf-8", "replace")
    if 'name="password"' in html:
        raise hp.BenchError(f"{label}: the session cookie shows the login form")
    if 'class="window-error"' in html:
        raise hp.BenchError(f"{label}: a window failed (timed out under valgrind?)")
    if hp.CHINESE_SHELL not in html:
        raise hp.BenchError(f"{label}: the page is not in Chinese (catalogues not compiled in "
                            "that checkout? make translations)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="requests counted (40)")
    parser.add_argument("--warmup", type=int, default=20, help="requests before counting (20)")
    parser.add_argument("--against", type=Path, action="append", default=[],
                        help="another checkout whose portal is counted too (repeatable)")
    parser.add_argument("--redis-db", type=int, default=12,
                        help="Redis database number, flushed before and after (12)")
    parser.add_argument("--customers", type=int, default=2000, help="demo retailers (2000)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    ours = parser.parse_args(argv)
    if ours.requests < 1 or ours.warmup < 1:
        parser.error("need --requests >= 1 and --warmup >= 1")
    for tool in ("valgrind", "callgrind_control"):
        if shutil.which(tool) is None:
            hp.log(f"{tool} not found: apt-get install valgrind")
            return 2
    args = hp.parse_args(["--redis-db", str(ours.redis_db), "--customers", str(ours.customers)])
    scratch = Path(tempfile.mkdtemp(prefix="portal-instructions-"))
    hp.log(f"scratch folder {scratch}")
    try:
        return _measure(ours, args, scratch)
    except hp.BenchError as exc:
        hp.log(f"FAILED: {exc}")
        return 1
    finally:
        if not ours.keep:
            shutil.rmtree(scratch, ignore_errors=True)


def _measure(ours: argparse.Namespace, args: argparse.Namespace, scratch: Path) -> int:
    started = time.monotonic()
    db_url = f"sqlite:///{scratch / 'portal.db'}"
    hp.flush_redis(args)
    env = hp.base_env(scratch, db_url, args)
    # Repeatable counts: the same string hashes and dictionary layouts on every run.
    env["PYTHONHASHSEED"] = "0"
    portal = hp.venv_tool("portal")
    hp.run([portal, "db", "upgrade"], env, timeout=300)
    hp.run([portal, "demo-data", "--customers", str(args.customers)], env, timeout=900)
    (scratch / "hello_app.py").write_text(hp.HELLO_APP)
    hello_env = {k: v for k, v in env.items() if not k.startswith("PORTAL_")}

    counts: list[Count] = []
    with counted("floor", "hello_app:app", hello_env, scratch, scratch, "/") as server:
        counts.append(count(server, ours.requests, ours.warmup))
    cold = {"PORTAL_PORTLET_CACHE": "false"}
    targets = [("portal-warm", hp.ROOT, {}, hp.TARGET_WARM_RATIO),
               ("portal-cold", hp.ROOT, cold, hp.TARGET_COLD_RATIO)]
    targets += [(f"cold-against-{n}", tree.resolve(), cold, hp.TARGET_COLD_RATIO)
                for n, tree in enumerate(ours.against, 1)]
    for label, tree, settings, target in targets:
        server_env = {**hp.portal_env(env, scratch, label, **SLOW_MACHINE, **settings),
                      "PYTHONPATH": str(tree)}
        with counted(label, "portal.wsgi:app", server_env, tree, scratch, "/login") as server:
            server.cookie = hp.sign_in(server.server.url, hp.USERNAME, args.password)
            check_page(label, server.get())
            counts.append(count(server, ours.requests, ours.warmup, target))
            check_page(label, server.get())
    hp.flush_redis(args)
    report(counts, ours)
    hp.log(f"done in {time.monotonic() - started:.0f} s")
    return 0


def report(counts: list[Count], ours: argparse.Namespace) -> None:
    floor = counts[0].instructions
    print()
    print(f"Instructions a served request — gunicorn gthread, one worker, under callgrind; "
          f"{ours.requests} requests after {ours.warmup}, kept-alive; kehu01's homepage")
    print()
    print(f"{'':24s}{'instructions':>14s}{'bytes':>10s}{'floor / this':>14s}  target")
    print("-" * 80)
    for c in counts:
        ratio = floor / c.instructions
        verdict = "" if c.target is None else (
            f">= {100 * c.target:.1f} %: " + ("met" if ratio >= c.target else "NOT met"))
        print(f"{c.label:24s}{c.instructions / 1e6:>13.2f}M{c.size:>10,d}{100 * ratio:>12.1f} %  "
              f"{verdict}")
    cold = next(c for c in counts if c.label == "portal-cold").instructions
    for n, tree in enumerate(ours.against, 1):
        against = next(c for c in counts if c.label == f"cold-against-{n}")
        print(f"  cold-against-{n}: {tree.resolve()}; portal-cold / cold-against-{n}: "
              f"{cold / against.instructions:.3f}")
    print()
    print("The issue's targets are stated in requests/s (bench/homepage.py); instructions "
          "leave out the kernel's share (sockets, threads), which the floor has too.")


if __name__ == "__main__":
    sys.exit(main())
