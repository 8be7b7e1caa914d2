"""``make demo-ldap``: the demo, signing in against a private OpenLDAP loaded with the demo
organisation.

Exports the demo database's organisation as LDIF (``portal ldap export-ldif``), starts slapd
on free ports of 127.0.0.1 (``sso.ldap.devserver``: ldap:// and ldaps://, throw-away CA),
runs ``portal ldap sync`` once, then ``portal serve`` with ``AUTH_BACKENDS=ldap,local`` (the
directory first; a local account still works if it is down). slapd stops with the server.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from sso.ldap import devserver
from sso.ldap.ldif import DEMO_BASE_DN, READER_RDN

BIN = Path(sys.executable).parent


def _terminate(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)  # runs the finally blocks: the server and slapd stop


def main() -> int:
    signal.signal(signal.SIGTERM, _terminate)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "5000")))
    parser.add_argument("--keep", action="store_true", help="keep slapd's scratch folder")
    args = parser.parse_args()
    portal = str(BIN / "portal")
    reader_password = secrets.token_urlsafe(16)
    folder = Path(tempfile.mkdtemp(prefix="portal-demo-ldap-"))
    done = subprocess.run([portal, "ldap", "export-ldif", "--reader-password", reader_password],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(done.stderr or done.stdout, file=sys.stderr)
        return done.returncode
    try:
        server = devserver.start(folder, DEMO_BASE_DN, f"{READER_RDN},{DEMO_BASE_DN}")
    except devserver.SlapdError as exc:
        print(f"cannot start slapd: {exc}", file=sys.stderr)
        return 1
    try:
        server.add_ldif(done.stdout)
        env = {**os.environ,
               "PORTAL_AUTH_BACKENDS": "ldap,local",
               "PORTAL_LDAP_URL": server.url,
               "PORTAL_LDAP_STARTTLS": "true",
               "PORTAL_LDAP_CA_FILE": str(server.ca_file),
               "PORTAL_LDAP_BASE_DN": f"ou=people,{DEMO_BASE_DN}",
               "PORTAL_LDAP_UNITS_DN": f"ou=units,{DEMO_BASE_DN}",
               "PORTAL_LDAP_BIND_DN": f"{READER_RDN},{DEMO_BASE_DN}",
               "PORTAL_LDAP_BIND_PASSWORD": reader_password}
        subprocess.run([portal, "ldap", "sync"], env=env, check=True)
        print(f"slapd: {server.url} (StartTLS) and {server.ldaps_url}, base {DEMO_BASE_DN}; "
              "sign in as kehu01, zhuanguan01, bumen01, admin... with the demo password "
              "(DEMO_PASSWORD), checked by the directory", flush=True)
        serve = subprocess.Popen([portal, "serve", "--port", str(args.port)], env=env)
        try:
            return serve.wait()
        finally:
            if serve.poll() is None:
                serve.terminate()
                serve.wait(timeout=30)
    except KeyboardInterrupt:
        return 130
    finally:
        server.stop()
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
