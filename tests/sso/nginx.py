"""A private nginx terminating TLS with client certificates in front of a private gunicorn.

Both take free ports chosen at run time and run in the foreground as children of the test, so
that stopping them is stopping our own processes. The nginx configuration is the one
docs/sso-certificates.md recommends for production, with paths into a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

NGINX_CONF = """\
user root;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {dir}/access.log;
    client_body_temp_path {dir}/client_body;
    proxy_temp_path {dir}/proxy;
    fastcgi_temp_path {dir}/fastcgi;
    uwsgi_temp_path {dir}/uwsgi;
    scgi_temp_path {dir}/scgi;

    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {dir}/server.pem;
        ssl_certificate_key {dir}/server.key;

        # Client certificates from the company CA, checked against its published CRL.
        ssl_client_certificate {dir}/ca.pem;
        ssl_verify_client optional;
        ssl_verify_depth 1;
        ssl_crl {dir}/crl.pem;
        # A failing certificate (expired, revoked, wrong purpose) would get nginx's bare
        # "400 The SSL certificate error" on every request. Hand the request to the portal
        # instead, unchanged: its pages and styles load, password sign-in still works, and
        # /login/certificate shows why the certificate was refused.
        error_page 495 = @portal;

        proxy_set_header Host $http_host;
        proxy_set_header X-SSL-Client-Verify $ssl_client_verify;
        proxy_set_header X-SSL-Client-S-DN $ssl_client_s_dn;
        proxy_set_header X-SSL-Client-Serial $ssl_client_serial;
        proxy_set_header X-SSL-Client-Cert $ssl_client_escaped_cert;

        location / {{
            proxy_pass http://127.0.0.1:{upstream};
        }}
        location @portal {{
            proxy_pass http://127.0.0.1:{upstream};
        }}
    }}
}}
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path,
                   timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"port {port} not open after {timeout}s:\n{log.read_text()[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass(frozen=True)
class Server:
    port: int
    folder: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def gunicorn(settings: Mapping[str, str], folder: Path) -> Iterator[Server]:
    """The portal under gunicorn (one gthread worker) with ``PORTAL_*`` *settings*, with the
    threads ``portal serve`` gives it: four for pages plus one per live event stream (each
    signed-in page opens one, and holds its thread until the next heartbeat notices that
    the browser went away)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PORTAL_")}
    env.update({f"PORTAL_{k}": v for k, v in settings.items()})
    env["PROMETHEUS_MULTIPROC_DIR"] = str(folder / "prom")
    (folder / "prom").mkdir(parents=True, exist_ok=True)
    log = folder / "gunicorn.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
             "--worker-class", "gthread", "--threads", "68", "portal.wsgi:app"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        yield Server(port, folder)
    finally:
        _stop(proc)


@contextmanager
def nginx(folder: Path, upstream: int) -> Iterator[Server]:
    """nginx on a free port in front of *upstream*; *folder* must hold server.pem,
    server.key, ca.pem and crl.pem."""
    port = free_port()
    for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (folder / name).mkdir(exist_ok=True)
    conf = folder / "nginx.conf"
    conf.write_text(NGINX_CONF.format(dir=folder, port=port, upstream=upstream))
    log = folder / "error.log"
    log.touch()
    proc = subprocess.Popen([NGINX, "-p", str(folder), "-c", str(conf), "-e", str(log),
                             "-g", "daemon off;"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        yield Server(port, folder)
    finally:
        _stop(proc)


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    """The portal answers (gunicorn imports the app after it opens the port)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(url, timeout=5).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not answer within {timeout}s")
        time.sleep(0.2)
