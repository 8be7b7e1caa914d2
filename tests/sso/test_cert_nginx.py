"""Certificate sign-in end to end: real nginx (TLS, client certificates, the CRL) in front of
a real gunicorn running the portal, with real client certificates from the company CA."""

from __future__ import annotations

import re
from urllib.parse import quote

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.sso.conftest import Stack, proxy_headers

pytestmark = pytest.mark.slow


def test_a_valid_certificate_signs_in_at_certificate_level(stack: Stack) -> None:
    with stack.client("admin") as client:
        response = client.get("/login/certificate", params={"next": "/admin/"})
        assert response.status_code == 302, response.text
        assert response.headers["location"] == "/admin/"
        admin = client.get("/admin/")  # ADMIN_ASSURANCE is "certificate" on this portal
        assert admin.status_code == 200
        assert "需要证书登录" not in admin.text
    [used] = [a for a in stack.audits("certificate.login") if a.actor == "admin"]
    assert used.target == stack.certs["admin"].serial
    assert used.address == "127.0.0.1"  # nginx, the trusted proxy


def test_the_homepage_after_certificate_sign_in(stack: Stack) -> None:
    with stack.client("zg") as client:
        assert client.get("/login/certificate").headers["location"] == "/"
        home = client.get("/", follow_redirects=True)
        assert home.status_code == 200
        assert "张专管" in home.text


@pytest.mark.parametrize("who, text", [
    ("revoked_in_crl", "证书已被吊销"),  # refused by nginx (CRL), page by the portal
    ("revoked_later", "证书已被吊销"),  # passed by nginx, refused by the portal's records
    ("expired", "证书已过期"),
    ("department", "部门证书只用于公文签章"),
])
def test_refused_certificates_get_a_clear_page(stack: Stack, who: str, text: str) -> None:
    with stack.client(who) as client:
        response = client.get("/login/certificate", params={"next": "/admin/"})
        assert response.status_code == 403
        assert text in response.text
        assert "证书登录被拒绝" in response.text
        assert client.get("/admin/").headers["location"].startswith("/login")  # not signed in
    serial = stack.certs[who].serial
    assert any(a.detail.get("reason") in ("revoked", "expired", "purpose", "department")
               for a in stack.audits("certificate.refused")
               if a.target in (serial, ""))


def test_a_browser_offering_a_bad_certificate_can_still_use_a_password(stack: Stack) -> None:
    """nginx hands requests with a failing certificate to the portal (error_page 495), so the
    pages keep their styles and the person can sign in with the password instead."""
    with stack.client("revoked_in_crl") as client:
        css = client.get("/static/css/portal.css")
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        _password_login(client, "km")
        home = client.get("/", follow_redirects=True)
        assert home.status_code == 200 and "王经理" in home.text


def test_no_certificate_leads_to_the_password_page(stack: Stack) -> None:
    with stack.client(None) as client:
        response = client.get("/login/certificate", params={"next": "/admin/"})
        assert response.status_code == 302
        assert response.headers["location"].startswith("/login?next=/admin/")
        page = client.get(response.headers["location"])
        assert page.status_code == 200
        assert "未检测到证书" in page.text
        assert 'name="password"' in page.text


def test_headers_sent_through_nginx_are_replaced(stack: Stack) -> None:
    """A client without a certificate cannot smuggle the headers past nginx."""
    with stack.client(None) as client:
        response = client.get("/login/certificate",
                              headers=proxy_headers(stack.certs["admin"].cert_pem))
        assert response.status_code == 302
        assert response.headers["location"].startswith("/login")
        assert client.get("/admin/").headers["location"].startswith("/login")


def test_forged_headers_straight_to_gunicorn(stack: Stack) -> None:
    """From an address that is not the proxy the headers are ignored and audited; the same
    headers from the proxy's address would sign in (so it is the address that decides)."""
    forged = proxy_headers(stack.certs["zg"].cert_pem)
    elsewhere = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=stack.upstream, transport=elsewhere) as attacker:
        response = attacker.get("/login/certificate", headers=forged)
        assert response.status_code == 302
        assert response.headers["location"].startswith("/login")
        assert attacker.get("/").headers["location"].startswith("/login")
    assert any(a.address == "127.0.0.2" for a in stack.audits("certificate.forged"))
    with httpx.Client(base_url=stack.upstream) as from_proxy_address:
        assert from_proxy_address.get("/login/certificate", headers=forged).headers[
            "location"] == "/"


def test_oversized_and_malformed_headers_straight_to_gunicorn(stack: Stack) -> None:
    headers = proxy_headers(stack.certs["zg"].cert_pem)
    with httpx.Client(base_url=stack.upstream) as client:
        big = client.get("/login/certificate",
                         headers={**headers, "X-SSL-Client-S-DN": "CN=" + "x" * 4000})
        assert big.status_code == 400 and "证书信息过长" in big.text
        bad = client.get("/login/certificate",
                         headers={**headers, "X-SSL-Client-Cert": quote("-----BEGIN x")})
        assert bad.status_code == 400 and "格式错误" in bad.text


def _password_login(client: httpx.Client, username: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    response = client.post("/login", data={"username": username, "password": PASSWORD,
                                           "csrf_token": token.group(1)})
    assert response.status_code == 302, response.text


def test_step_up_from_a_password_session_returns_to_the_page(stack: Stack) -> None:
    with stack.client("admin") as client:
        _password_login(client, "admin")
        asked = client.get("/admin/plugins")
        assert asked.status_code == 403
        assert "需要证书登录" in asked.text
        link = re.search(r'href="(/login/certificate\?next=[^"]+)"', asked.text)
        assert link, asked.text
        back = client.get(link.group(1).replace("&amp;", "&"))
        assert back.status_code == 302
        assert back.headers["location"] == "/admin/plugins"
        assert client.get("/admin/plugins").status_code == 200
    assert any(a.actor == "admin" for a in stack.audits("certificate.step_up"))


def test_step_up_with_another_persons_certificate_is_refused(stack: Stack) -> None:
    with stack.client("zg") as client:
        _password_login(client, "admin")
        response = client.get("/login/certificate", params={"next": "/admin/"})
        assert response.status_code == 403
        assert "不属于当前登录用户" in response.text
        still = client.get("/admin/")
        assert still.status_code == 403 and "需要证书登录" in still.text  # still admin, password
