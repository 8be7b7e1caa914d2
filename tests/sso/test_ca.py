"""The company CA: `portal ca` commands, the CRL, PKCS#12, and department signatures."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import pkcs12
from flask import Flask
from sqlalchemy import select

from portal.models import AuditEntry
from sso.ca import authority as ca
from sso.ca import service
from sso.ca.models import IssuedCertificate
from tests.conftest import Runner, seed_org

SERIAL_LINE = re.compile(r"^([0-9A-F]+)\s+(person|department)\s", re.M)


def issue(runner: Runner, *args: str) -> str:
    result = runner.invoke(["ca", "issue", *args])
    assert result.exit_code == 0, result.output
    match = SERIAL_LINE.search(result.output)
    assert match, result.output
    return match.group(1)


def audit_actions(app: Flask) -> list[str]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))


def test_init_refuses_a_second_ca(ca_app: Flask) -> None:
    result = Runner(ca_app).invoke(["ca", "init"])
    assert result.exit_code == 1
    assert "已存在" in result.output or "already exists" in result.output


def test_issue_for_person_and_department(ca_app: Flask, tmp_path: Path) -> None:
    runner = Runner(ca_app)
    person = issue(runner, "--person", "zg")
    dept = issue(runner, "--department", "HN", "--days", "30")
    with ca_app.app_context():
        s = ca_app.extensions["portal"].db.session()
        p = s.scalars(select(IssuedCertificate).where(IssuedCertificate.serial == person)).one()
        d = s.scalars(select(IssuedCertificate).where(IssuedCertificate.serial == dept)).one()
        assert p.kind == "person" and p.person_id is not None and p.org_unit_id is None
        assert p.subject_dn == "UID=zg,CN=张专管,OU=海宁市局,O=嘉兴市烟草公司"
        assert d.kind == "department" and d.org_unit_id is not None
        assert (d.not_after - d.not_before).days == 30
        cert = ca.cert_from_pem(p.cert_pem)
        usage = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
        assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH in usage
        dusage = ca.cert_from_pem(d.cert_pem).extensions.get_extension_for_class(
            x509.ExtendedKeyUsage).value
        assert x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH not in dusage
        assert ca.DOCUMENT_SIGNING in dusage
        assert "BEGIN ENCRYPTED PRIVATE KEY" in (p.key_pem or "")
        assert ca.is_issued_by(cert, service.load_authority(s).cert)
    listed = runner.invoke(["ca", "list", "--person", "zg"])
    assert listed.exit_code == 0 and person in listed.output and dept not in listed.output
    assert "1 certificate(s)" in listed.output
    assert runner.invoke(["ca", "list", "--department", "XX"]).exit_code == 1
    assert audit_actions(ca_app).count("ca.issue") == 2


@pytest.mark.parametrize("args, message", [
    (["--person", "nobody"], "nobody"),
    (["--department", "XX"], "XX"),
    (["--person", "zg", "--days", "0"], "3650"),
])
def test_issue_refusals_exit_1_with_a_message(ca_app: Flask, args: list[str],
                                             message: str) -> None:
    result = Runner(ca_app).invoke(["ca", "issue", *args])
    assert result.exit_code == 1
    assert message in result.output
    assert "Traceback" not in result.output
    with ca_app.app_context():
        s = ca_app.extensions["portal"].db.session()
        assert s.scalars(select(IssuedCertificate)).first() is None


def test_issue_needs_exactly_one_owner(ca_app: Flask) -> None:
    runner = Runner(ca_app)
    assert runner.invoke(["ca", "issue"]).exit_code == 2
    assert runner.invoke(["ca", "issue", "--person", "zg", "--department", "HN"]).exit_code == 2


def test_revoke_and_publish_the_crl(ca_app: Flask, tmp_path: Path) -> None:
    runner = Runner(ca_app)
    kept, revoked = issue(runner, "--person", "zg"), issue(runner, "--person", "km")
    result = runner.invoke(["ca", "revoke", revoked.lower(), "--reason", "keyCompromise"])
    assert result.exit_code == 0, result.output
    again = runner.invoke(["ca", "revoke", revoked, "--reason", "keyCompromise"])
    assert again.exit_code == 1 and revoked in again.output
    assert runner.invoke(["ca", "revoke", "ZZZ"]).exit_code == 1
    assert runner.invoke(["ca", "revoke", "ABCDEF"]).exit_code == 1
    assert runner.invoke(["ca", "revoke", kept, "--reason", "bogus"]).exit_code == 2

    pem, der = tmp_path / "crl.pem", tmp_path / "crl.der"
    assert runner.invoke(["ca", "crl", "--out", str(pem)]).exit_code == 0
    assert runner.invoke(["ca", "crl", "--out", str(der), "--der"]).exit_code == 0
    with ca_app.app_context():
        authority = service.load_authority(ca_app.extensions["portal"].db.session())
    for crl in (x509.load_pem_x509_crl(pem.read_bytes()), x509.load_der_x509_crl(der.read_bytes())):
        assert crl.is_signature_valid(authority.key.public_key())
        entry = crl.get_revoked_certificate_by_serial_number(int(revoked, 16))
        assert entry is not None
        assert entry.extensions.get_extension_for_class(x509.CRLReason).value.reason == \
            x509.ReasonFlags.key_compromise
        assert crl.get_revoked_certificate_by_serial_number(int(kept, 16)) is None

    served = ca_app.test_client().get("/ca/crl.pem")  # published at a URL, for everyone
    assert served.status_code == 200
    assert x509.load_pem_x509_crl(served.data).get_revoked_certificate_by_serial_number(
        int(revoked, 16)) is not None
    assert ca_app.test_client().get("/ca/crl.der").mimetype == "application/pkix-crl"
    listed = runner.invoke(["ca", "list"]).output
    assert re.search(rf"{revoked}\s+person\s+revoked", listed)
    assert "ca.revoke" in audit_actions(ca_app)


def test_export_p12_for_a_person_only(ca_app: Flask, tmp_path: Path) -> None:
    runner = Runner(ca_app)
    person, dept = issue(runner, "--person", "zg"), issue(runner, "--department", "HN")
    out = tmp_path / "zg.p12"
    result = runner.invoke(["ca", "export-p12", person, "--out", str(out)])
    assert result.exit_code == 0, result.output
    password = result.output.rsplit(":", 1)[1].strip()
    assert re.fullmatch(r"[A-Za-z0-9]{4}(-[A-Za-z0-9]{4}){3}", password)
    assert out.stat().st_mode & 0o077 == 0
    key, cert, extra = pkcs12.load_key_and_certificates(out.read_bytes(), password.encode())
    assert key is not None and cert is not None and f"{cert.serial_number:X}" == person
    assert len(extra) == 1  # the CA, so that the browser trusts the chain
    with pytest.raises(ValueError):
        pkcs12.load_key_and_certificates(out.read_bytes(), b"wrong")
    refused = runner.invoke(["ca", "export-p12", dept, "--out", str(tmp_path / "d.p12")])
    assert refused.exit_code == 1
    assert not (tmp_path / "d.p12").exists()
    assert "ca.export_pkcs12" in audit_actions(ca_app)


def test_commands_without_a_ca_say_so(app: Flask, tmp_path: Path) -> None:
    seed_org(app)
    result = Runner(app).invoke(["ca", "issue", "--person", "zg"])
    assert result.exit_code == 1
    assert "portal ca init" in result.output
    assert app.test_client().get("/ca/crl.pem").status_code == 503


def test_ca_on_postgresql_and_sqlite(db_app: Flask, tmp_path: Path) -> None:
    seed_org(db_app)
    runner = Runner(db_app)
    assert runner.invoke(["ca", "init", "--out", str(tmp_path / "ca.pem")]).exit_code == 0
    serial = issue(runner, "--person", "zg")
    assert runner.invoke(["ca", "revoke", serial]).exit_code == 0
    crl = x509.load_pem_x509_crl(db_app.test_client().get("/ca/crl.pem").data)
    assert crl.get_revoked_certificate_by_serial_number(int(serial, 16)) is not None
    ca_cert = x509.load_pem_x509_certificate((tmp_path / "ca.pem").read_bytes())
    assert crl.issuer == ca_cert.subject


# -- department signatures (the API issue 8 signs official documents with) -------------------


def _department_cert_id(app: Flask, runner: Runner, code: str = "HN") -> int:
    serial = issue(runner, "--department", code)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return s.scalars(select(IssuedCertificate.id).where(
            IssuedCertificate.serial == serial)).one()


def test_a_department_signs_and_a_tampered_file_fails(ca_app: Flask) -> None:
    runner = Runner(ca_app)
    cert_id = _department_cert_id(ca_app, runner)
    document = "关于2026年卷烟市场检查的通知（正式文件）".encode()
    with ca_app.app_context():
        s = ca_app.extensions["portal"].db.session()
        signature = service.sign_detached(s, cert_id, document)
        s.commit()
        assert service.verify_detached(s, signature, document).id == cert_id
        with pytest.raises(ca.SignatureInvalid, match="does not match"):
            service.verify_detached(s, signature, document + b" ")
        tampered = bytearray(signature)
        tampered[-10] ^= 0x01
        with pytest.raises(ca.SignatureInvalid):
            service.verify_detached(s, bytes(tampered), document)
        with pytest.raises(ca.SignatureInvalid, match="malformed"):
            service.verify_detached(s, b"not a signature", document)


def test_signatures_of_other_cas_persons_and_revoked_departments_fail(ca_app: Flask) -> None:
    runner = Runner(ca_app)
    cert_id = _department_cert_id(ca_app, runner)
    person_serial = issue(runner, "--person", "zg")
    document = b"official document"
    with ca_app.app_context():
        s = ca_app.extensions["portal"].db.session()
        # A look-alike CA with the same names cannot sign for us.
        other = ca.create_authority("个人工作平台演示 CA", "嘉兴市烟草公司")
        cert, key = ca.issue(other, ca.department_subject(other, "HN", "海宁市局"),
                             ca.Kind.DEPARTMENT, days=10)
        with pytest.raises(ca.SignatureInvalid, match="not from the company CA"):
            service.verify_detached(s, ca.sign_detached(cert, key, document), document)
        # A person's certificate does not sign for a department.
        person = service.find(s, person_serial)
        assert person is not None
        with pytest.raises(service.CaError):
            service.sign_detached(s, person.id, document)
        signature = service.sign_detached(s, cert_id, document)
        s.commit()
    assert runner.invoke(["ca", "revoke", _serial_of(ca_app, cert_id)]).exit_code == 0
    with ca_app.app_context():
        s = ca_app.extensions["portal"].db.session()
        with pytest.raises(ca.SignatureInvalid, match="revoked"):
            service.verify_detached(s, signature, document)
        with pytest.raises(service.CaError):
            service.sign_detached(s, cert_id, document)
    assert "ca.sign" in audit_actions(ca_app)


def _serial_of(app: Flask, cert_id: int) -> str:
    with app.app_context():
        record = app.extensions["portal"].db.session().get(IssuedCertificate, cert_id)
        assert record is not None
        return record.serial
