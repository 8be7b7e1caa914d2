"""A private OpenLDAP (slapd) for the tests, ``make demo-ldap`` and the login benchmark.

It runs from a ``slapd.conf`` in a scratch folder (mdb back end, memberOf overlay) on free ports
of 127.0.0.1, ``ldap://`` and ``ldaps://``, with a server certificate from a throw-away CA whose
SAN holds this machine's host name and 127.0.0.1 (libldap checks the host name on loopback too).
Entries are loaded with ``ldapadd`` while slapd runs, since offline ``slapadd`` would not fill
``memberOf``. Needs Debian's ``slapd`` and ``ldap-utils``, and ``cryptography`` for the
certificates.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import secrets
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SLAPD = "/usr/sbin/slapd"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")


class SlapdError(RuntimeError):
    """slapd is missing, did not start, or refused the entries."""


@dataclass
class Slapd:
    folder: Path
    base_dn: str
    ldap_port: int
    ldaps_port: int
    admin_dn: str
    admin_password: str
    ca_file: Path
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"ldap://127.0.0.1:{self.ldap_port}"

    @property
    def ldaps_url(self) -> str:
        return f"ldaps://127.0.0.1:{self.ldaps_port}"

    def add_ldif(self, text: str) -> None:
        path = self.folder / f"add-{secrets.token_hex(4)}.ldif"
        path.write_text(text, encoding="utf-8")
        done = subprocess.run(
            ["ldapadd", "-x", "-H", self.url, "-D", self.admin_dn, "-w", self.admin_password,
             "-f", str(path)], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise SlapdError(f"ldapadd failed ({done.returncode}): {done.stderr[-2000:]}")

    def log_tail(self) -> str:
        try:
            return (self.folder / "slapd.log").read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def make_certificates(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a server certificate for this host name and 127.0.0.1: (ca, cert, key)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal test LDAP CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
          .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
          .not_valid_before(now - dt.timedelta(minutes=5))
          .not_valid_after(now + dt.timedelta(days=30))
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    host = socket.gethostname()
    names: list[x509.GeneralName] = [x509.DNSName(host), x509.DNSName("localhost"),
                                     x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)]))
            .issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    ca_path, cert_path, key_path = folder / "ca.pem", folder / "server.pem", folder / "server.key"
    ca_path.write_bytes(ca.public_bytes(pem))
    cert_path.write_bytes(cert.public_bytes(pem))
    key_path.write_bytes(key.private_bytes(pem, serialization.PrivateFormat.TraditionalOpenSSL,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return ca_path, cert_path, key_path


def _config(folder: Path, base_dn: str, admin_dn: str, admin_password: str, reader_dn: str,
            cert: Path, key: Path, ca: Path) -> str:
    return f"""\
include {SCHEMA_DIR}/core.schema
include {SCHEMA_DIR}/cosine.schema
include {SCHEMA_DIR}/inetorgperson.schema
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload memberof
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
TLSCACertificateFile {ca}
TLSCertificateFile {cert}
TLSCertificateKeyFile {key}
# Like many directories (Active Directory among them), take a DN with an empty password for an
# anonymous bind that "succeeds": the portal must refuse empty passwords itself.
allow bind_anon_dn

database mdb
maxsize 268435456
suffix "{base_dn}"
rootdn "{admin_dn}"
rootpw {admin_password}
directory {folder}/data
index objectClass eq
index uid eq
index member eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint TRUE

access to attrs=userPassword
  by anonymous auth
  by * none
access to *
  by dn.exact="{reader_dn}" read
  by self read
  by * none
"""


def start(folder: Path, base_dn: str, reader_dn: str, timeout: float = 15.0) -> Slapd:
    """Start slapd in *folder* (which must exist); raise ``SlapdError`` if it cannot."""
    if not Path(SLAPD).exists() or shutil.which("ldapadd") is None:
        raise SlapdError("slapd or ldapadd is missing: install the Debian packages slapd and "
                         "ldap-utils (scripts/install-system.sh)")
    (folder / "data").mkdir(exist_ok=True)
    ca, cert, key = make_certificates(folder)
    admin_dn, admin_password = f"cn=admin,{base_dn}", secrets.token_urlsafe(16)
    conf = folder / "slapd.conf"
    conf.write_text(_config(folder, base_dn, admin_dn, admin_password, reader_dn, cert, key, ca))
    ldap_port, ldaps_port = free_port(), free_port()
    urls = f"ldap://127.0.0.1:{ldap_port}/ ldaps://127.0.0.1:{ldaps_port}/"
    with open(folder / "slapd.log", "wb") as log:
        # -d 0: stays in the foreground, so the Popen is slapd itself and stop() ends it.
        process = subprocess.Popen([SLAPD, "-f", str(conf), "-h", urls, "-d", "0"],
                                   stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    server = Slapd(folder, base_dn, ldap_port, ldaps_port, admin_dn, admin_password, ca, process)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SlapdError(f"slapd exited ({process.returncode}):\n{server.log_tail()}")
        try:
            with socket.create_connection(("127.0.0.1", ldap_port), timeout=0.5), \
                    socket.create_connection(("127.0.0.1", ldaps_port), timeout=0.5):
                return server
        except OSError:
            time.sleep(0.05)
    server.stop()
    raise SlapdError(f"slapd did not listen within {timeout:.0f} s:\n{server.log_tail()}")
