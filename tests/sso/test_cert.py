"""Certificate sign-in behind the TLS proxy, through the test client (the proxy's headers are
set by hand here; tests/sso/test_cert_nginx.py runs the real nginx)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from portal.models import AuditEntry, Person
from sso.ca import authority as ca
from sso.ca.models import IssuedCertificate
from tests.conftest import Auth, make_app, seed_org
from tests.sso.conftest import issue_cert, proxy_headers

PROXY = {"REMOTE_ADDR": "127.0.0.1"}
ELSEWHERE = {"REMOTE_ADDR": "10.20.30.40"}


def cert_login(client: FlaskClient, headers: dict[str, str], *, environ: dict[str, str] = PROXY,
               next_url: str = "") -> Any:
    url = "/login/certificate" + (f"?next={next_url}" if next_url else "")
    return client.get(url, headers=headers, environ_base=environ)


def principal(client: FlaskClient) -> dict[str, Any] | None:
    with client.session_transaction() as sess:
        return sess.get("principal")


def audits(app: Flask, action: str) -> list[AuditEntry]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)
                              .order_by(AuditEntry.id)))


def test_a_valid_certificate_signs_in(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, person="zg")
    client = ca_app.test_client()
    response = cert_login(client, proxy_headers(issued.cert_pem), next_url="/page/home")
    assert response.status_code == 302
    assert response.headers["Location"] == "/page/home"
    signed_in = principal(client)
    assert signed_in is not None
    assert signed_in["username"] == "zg" and signed_in["auth_method"] == "certificate"
    [login] = audits(ca_app, "login")
    assert login.detail["backend"] == "certificate"
    [used] = audits(ca_app, "certificate.login")
    assert used.target == issued.serial and used.actor == "zg"


@pytest.mark.parametrize("database", ["sqlite", "postgresql"])
def test_certificate_sign_in_on_postgresql_and_sqlite(request: pytest.FixtureRequest,
                                                      tmp_path: Any, database: str) -> None:
    from tests.conftest import Runner

    url = f"sqlite:///{tmp_path}/portal.db" if database == "sqlite" else \
        request.getfixturevalue("pg_url")
    app = make_app(url, CERT_TRUSTED_PROXIES=["127.0.0.1"])
    try:
        seed_org(app)
        assert Runner(app).invoke(["ca", "init"]).exit_code == 0
        issued = issue_cert(app, person="zg")
        revoked = issue_cert(app, person="km")
        assert Runner(app).invoke(["ca", "revoke", revoked.serial]).exit_code == 0
        client = app.test_client()
        assert cert_login(client, proxy_headers(revoked.cert_pem)).status_code == 403
        assert cert_login(client, proxy_headers(issued.cert_pem)).status_code == 302
        assert principal(client)["auth_method"] == "certificate"  # type: ignore[index]
    finally:
        app.extensions["portal"].db.engine.dispose()


def test_a_bad_proxy_setting_trusts_nobody(tmp_path: Any) -> None:
    from tests.conftest import Runner

    app = make_app(f"sqlite:///{tmp_path}/portal.db", CERT_TRUSTED_PROXIES=["127.0.0.300"])
    states = {p.name: p for p in app.extensions["portal"].plugins.listing()}
    assert states["sso_cert"].state == "broken"
    seed_org(app)
    assert Runner(app).invoke(["ca", "init"]).exit_code == 0
    issued = issue_cert(app, person="zg")
    client = app.test_client()
    assert cert_login(client, proxy_headers(issued.cert_pem)).status_code == 302
    assert principal(client) is None
    assert len(audits(app, "certificate.forged")) == 1


def test_next_never_leaves_the_portal(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, person="zg")
    response = cert_login(ca_app.test_client(), proxy_headers(issued.cert_pem),
                          next_url="//evil.example/")
    assert response.headers["Location"] == "/"


def test_no_certificate_goes_to_the_password_page(ca_app: Flask) -> None:
    client = ca_app.test_client()
    response = cert_login(client, {"X-SSL-Client-Verify": "NONE"}, next_url="/admin/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/")
    assert principal(client) is None
    page = client.get(response.headers["Location"])
    assert "未检测到证书" in page.get_data(as_text=True)


def test_headers_from_another_address_are_ignored_and_audited(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, person="admin")
    client = ca_app.test_client()
    response = cert_login(client, proxy_headers(issued.cert_pem), environ=ELSEWHERE)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")
    assert principal(client) is None
    [forged] = audits(ca_app, "certificate.forged")
    assert forged.address == "10.20.30.40"
    assert "X-SSL-Client-Verify" in forged.detail["headers"]


def test_no_proxy_is_trusted_by_default(tmp_path: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db")
    seed_org(app)
    from tests.conftest import Runner

    assert Runner(app).invoke(["ca", "init"]).exit_code == 0
    issued = issue_cert(app, person="zg")
    client = app.test_client()
    assert cert_login(client, proxy_headers(issued.cert_pem)).status_code == 302
    assert principal(client) is None
    assert len(audits(app, "certificate.forged")) == 1


@pytest.mark.parametrize("verify, reason, text", [
    ("FAILED:certificate has expired", "expired", "证书已过期"),
    ("FAILED:certificate revoked", "revoked", "证书已被吊销"),
    ("FAILED:unable to get local issuer certificate", "failed", "证书验证未通过"),
])
def test_certificates_the_proxy_rejected_get_a_clear_page(ca_app: Flask, verify: str,
                                                          reason: str, text: str) -> None:
    issued = issue_cert(ca_app, person="zg")
    client = ca_app.test_client()
    response = cert_login(client, proxy_headers(issued.cert_pem, verify=verify))
    assert response.status_code == 403
    assert text in response.get_data(as_text=True)
    assert principal(client) is None
    [refused] = audits(ca_app, "certificate.refused")
    assert refused.detail["reason"] == reason


def test_revoked_in_our_records_is_refused_before_nginx_knows(ca_app: Flask) -> None:
    from tests.conftest import Runner

    issued = issue_cert(ca_app, person="zg")
    assert Runner(ca_app).invoke(["ca", "revoke", issued.serial]).exit_code == 0
    client = ca_app.test_client()
    response = cert_login(client, proxy_headers(issued.cert_pem))  # nginx's CRL is older
    assert response.status_code == 403
    assert "证书已被吊销" in response.get_data(as_text=True)
    assert principal(client) is None


def test_an_expired_certificate_is_refused_even_if_the_proxy_passed_it(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, person="zg", days=1,
                        now=datetime.now(UTC) - timedelta(days=3))
    response = cert_login(ca_app.test_client(), proxy_headers(issued.cert_pem))
    assert response.status_code == 403
    assert "证书已过期" in response.get_data(as_text=True)


def test_a_department_certificate_does_not_sign_in(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, department="HN")
    client = ca_app.test_client()
    response = cert_login(client, proxy_headers(issued.cert_pem))
    assert response.status_code == 403
    assert "部门证书" in response.get_data(as_text=True)
    assert principal(client) is None
    [refused] = audits(ca_app, "certificate.refused")
    assert refused.detail["reason"] == "department"


def test_a_certificate_from_another_ca_is_unknown(ca_app: Flask) -> None:
    other = ca.create_authority("个人工作平台演示 CA", "嘉兴市烟草公司")
    cert, _key = ca.issue(other, ca.person_subject(other, "admin", "周管理", None),
                          ca.Kind.PERSON, days=10)
    response = cert_login(ca_app.test_client(), proxy_headers(ca.cert_to_pem(cert)))
    assert response.status_code == 403
    assert audits(ca_app, "certificate.refused")[0].detail["reason"] == "unknown"


def test_an_inactive_person_is_refused(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, person="zg")
    with ca_app.app_context():
        s = ca_app.extensions["portal"].db.session()
        s.scalars(select(Person).where(Person.username == "zg")).one().active = False
        s.commit()
    response = cert_login(ca_app.test_client(), proxy_headers(issued.cert_pem))
    assert response.status_code == 403
    assert audits(ca_app, "certificate.refused")[0].detail["reason"] == "no_person"


@pytest.mark.parametrize("mode, signed_in", [("issued", False), ("directory", True)])
def test_lookup_by_directory_or_by_issue_record(tmp_path: Any, mode: str,
                                                signed_in: bool) -> None:
    """A certificate of our CA without a record (issued before the portal kept records, or by
    another tool with the same CA key) finds its person by UID only in directory mode."""
    from tests.conftest import Runner

    app = make_app(f"sqlite:///{tmp_path}/portal.db", CERT_TRUSTED_PROXIES=["127.0.0.0/8"],
                   CERT_USER_LOOKUP=mode)
    seed_org(app)
    assert Runner(app).invoke(["ca", "init"]).exit_code == 0
    issued = issue_cert(app, person="km")
    with app.app_context():
        s = app.extensions["portal"].db.session()
        s.delete(s.get(IssuedCertificate, issued.id))
        s.commit()
    client = app.test_client()
    response = cert_login(client, proxy_headers(issued.cert_pem))
    assert (response.status_code == 302) is signed_in
    found = principal(client)
    assert (found is not None and found["username"] == "km") is signed_in


def test_an_unknown_lookup_setting_breaks_the_plugin_loudly(tmp_path: Any) -> None:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", CERT_USER_LOOKUP="ldapp")
    states = {p.name: p for p in app.extensions["portal"].plugins.listing()}
    assert states["sso_cert"].state == "broken"
    assert "CERT_USER_LOOKUP" in (states["sso_cert"].error or "")


# -- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize("change, status", [
    ({"X-SSL-Client-Cert": "-----BEGIN%20CERTIFICATE-----%0Agarbage%0A"}, 400),
    ({"X-SSL-Client-Cert": ""}, 400),
    ({"X-SSL-Client-Serial": "00FF"}, 400),
    ({"X-SSL-Client-Serial": "not-hex"}, 400),
    ({"X-SSL-Client-Verify": "MAYBE"}, 400),
    ({"X-SSL-Client-S-DN": "CN=" + "x" * 5000}, 400),
    ({"X-SSL-Client-Cert": "A" * 20000}, 400),
])
def test_malformed_or_oversized_headers_are_refused(ca_app: Flask, change: dict[str, str],
                                                    status: int) -> None:
    issued = issue_cert(ca_app, person="zg")
    client = ca_app.test_client()
    response = cert_login(client, {**proxy_headers(issued.cert_pem), **change})
    assert response.status_code == status
    body = response.get_data(as_text=True)
    assert "Traceback" not in body and "证书登录被拒绝" in body
    assert principal(client) is None
    [refused] = audits(ca_app, "certificate.refused")
    assert refused.detail["reason"] in ("malformed", "too_long")


def test_the_sign_in_page_offers_certificate_sign_in(ca_app: Flask) -> None:
    page = ca_app.test_client().get("/login?next=/admin/").get_data(as_text=True)
    assert "证书登录" in page
    assert 'href="/login/certificate?next=/admin/"' in page


# -- step-up from a password session ----------------------------------------------------------


def test_step_up_keeps_the_person_and_the_place(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, person="zg")
    client = ca_app.test_client()
    Auth(client).login("zg")
    assert principal(client)["auth_method"] == "local"  # type: ignore[index]
    response = cert_login(client, proxy_headers(issued.cert_pem), next_url="/page/home?x=1")
    assert response.headers["Location"] == "/page/home?x=1"
    assert principal(client)["auth_method"] == "certificate"  # type: ignore[index]
    [step_up] = audits(ca_app, "certificate.step_up")
    assert step_up.actor == "zg" and step_up.target == issued.serial


def test_step_up_with_someone_elses_certificate_is_refused(ca_app: Flask) -> None:
    theirs = issue_cert(ca_app, person="admin")
    client = ca_app.test_client()
    Auth(client).login("zg")
    response = cert_login(client, proxy_headers(theirs.cert_pem), next_url="/admin/")
    assert response.status_code == 403
    assert "不属于当前登录用户" in response.get_data(as_text=True)
    kept = principal(client)
    assert kept is not None and kept["username"] == "zg" and kept["auth_method"] == "local"
    [refused] = audits(ca_app, "certificate.refused")
    assert refused.detail["reason"] == "other_person" and refused.actor == "zg"
