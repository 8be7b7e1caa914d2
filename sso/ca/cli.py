"""``portal ca``: the company CA from the command line (exit code 1 with a message on refusal)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person, db_session
from sso.ca import authority as ca
from sso.ca import service
from sso.ca.service import CaError


@contextmanager
def _transaction() -> Iterator[Session]:
    """Commit on success; on ``CaError`` roll back and exit 1 with its message."""
    s = db_session()
    try:
        yield s
        s.commit()
    except CaError as exc:
        s.rollback()
        raise click.ClickException(exc.message) from None
    except BaseException:
        s.rollback()
        raise


def _write(path: str, data: bytes, *, private: bool = False) -> None:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    if private:  # never readable by others, not even for an instant
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
    else:
        target.write_bytes(data)


@click.group("ca")
def ca_group() -> None:
    """The company CA: certificates for persons and departments, CRL, PKCS#12."""


@ca_group.command("init")
@click.option("--name", default="个人工作平台演示 CA", show_default=True,
              help="Common name of the CA.")
@click.option("--org", "organization", default="嘉兴市烟草公司", show_default=True,
              help="Organisation written in every certificate.")
@click.option("--days", default=3650, show_default=True, type=click.IntRange(30, 7300))
@click.option("--out", type=click.Path(dir_okay=False),
              help="Also write the CA certificate (PEM) here, for nginx's ssl_client_certificate.")
@with_appcontext
def init_cmd(name: str, organization: str, days: int, out: str | None) -> None:
    """Create the company CA (once)."""
    with _transaction() as s:
        authority = service.init_authority(s, name, organization, days=days)
    if out:
        _write(out, ca.cert_to_pem(authority.cert).encode())
    click.echo(f"created CA {authority.cert.subject.rfc4514_string()}")


@ca_group.command("cert")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def cert_cmd(out: str) -> None:
    """Write the CA certificate (PEM)."""
    with _transaction() as s:
        authority = service.load_authority(s)
    _write(out, ca.cert_to_pem(authority.cert).encode())
    click.echo(f"wrote {out}")


@ca_group.command("issue")
@click.option("--person", "username", help="User name of the person.")
@click.option("--department", "code", help="Code of the department (org unit).")
@click.option("--days", type=int, help="Validity in days (default: CA_CERT_DAYS).")
@with_appcontext
def issue_cmd(username: str | None, code: str | None, days: int | None) -> None:
    """Issue a certificate to a person (signs in) or a department (signs documents)."""
    if bool(username) == bool(code):
        raise click.UsageError("give exactly one of --person and --department")
    with _transaction() as s:
        if username:
            record = service.issue_for_person(s, username, days=days)
        else:
            record = service.issue_for_department(s, str(code), days=days)
    click.echo(f"{record.serial}  {record.kind}  {record.subject_dn}  "
               f"valid until {record.not_after:%Y-%m-%d}")


@ca_group.command("revoke")
@click.argument("serial")
@click.option("--reason", default="unspecified", show_default=True,
              type=click.Choice(list(ca.REASONS)))
@click.option("--crl-out", type=click.Path(dir_okay=False),
              help="Publish the new CRL (PEM) to this file at once.")
@with_appcontext
def revoke_cmd(serial: str, reason: str, crl_out: str | None) -> None:
    """Revoke a certificate. Publish the CRL afterwards so that nginx refuses it too."""
    with _transaction() as s:
        record = service.revoke(s, serial, reason)
        data = service.crl_bytes(s) if crl_out else b""
    if crl_out:
        _write(crl_out, data)
    click.echo(f"revoked {record.serial} ({reason})")


@ca_group.command("crl")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@click.option("--der", is_flag=True, help="DER instead of PEM.")
@with_appcontext
def crl_cmd(out: str, der: bool) -> None:
    """Publish the certificate revocation list to a file (nginx's ssl_crl)."""
    with _transaction() as s:
        data = service.crl_bytes(s, der=der)
    _write(out, data)
    click.echo(f"wrote {out}")


@ca_group.command("export-p12")
@click.argument("serial")
@click.option("--out", required=True, type=click.Path(dir_okay=False))
@with_appcontext
def export_p12_cmd(serial: str, out: str) -> None:
    """Write a person's key and certificate as PKCS#12; prints its one-time password."""
    with _transaction() as s:
        record = service.find(s, serial)
        if record is None:
            raise CaError(f"no certificate with serial number {serial}", 404)
        data, password = service.export_pkcs12(s, record)
    _write(out, data, private=True)
    click.echo(f"wrote {out}; password (shown once): {password}")


@ca_group.command("server-cert")
@click.argument("hostnames", nargs=-1, required=True)
@click.option("--out-dir", required=True, type=click.Path(file_okay=False))
@with_appcontext
def server_cert_cmd(hostnames: tuple[str, ...], out_dir: str) -> None:
    """Issue a TLS server certificate for a demo nginx (server.pem, server.key)."""
    with _transaction() as s:
        authority = service.load_authority(s)
    cert, key = ca.issue_server(authority, hostnames)
    from cryptography.hazmat.primitives import serialization

    _write(f"{out_dir}/server.pem", ca.cert_to_pem(cert).encode())
    _write(f"{out_dir}/server.key", key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), private=True)
    click.echo(f"wrote {out_dir}/server.pem and server.key")


@ca_group.command("list")
@click.option("--person", "username", help="Only this person's certificates.")
@click.option("--department", "code", help="Only this department's certificates.")
@with_appcontext
def list_cmd(username: str | None, code: str | None) -> None:
    """List issued certificates: serial, kind, status, validity, subject."""
    with _transaction() as s:
        person_id = unit_id = None
        if username:
            person_id = s.scalar(select(Person.id).where(Person.username == username))
            if person_id is None:
                raise CaError(f"no such person: {username}", 404)
        if code:
            unit_id = s.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
            if unit_id is None:
                raise CaError(f"no such department: {code}", 404)
        rows = service.certificates(s, person_id=person_id, org_unit_id=unit_id)
        for r in rows:
            click.echo(f"{r.serial}  {r.kind:<10} {r.status():<8} "
                       f"{r.not_before:%Y-%m-%d}..{r.not_after:%Y-%m-%d}  {r.subject_dn}")
        click.echo(f"{len(rows)} certificate(s)")
