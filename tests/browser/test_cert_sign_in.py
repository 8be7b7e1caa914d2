"""Chromium signs in with a client certificate through the real nginx, and steps up.

Headless Chromium has no certificate picker; Playwright's ``client_certificates`` presents the
certificate for the nginx origin (Playwright does the TLS handshake on the browser's behalf),
which is what a user choosing their certificate in the picker amounts to.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import full_screenshot
from tests.conftest import PASSWORD, ROOT
from tests.sso.conftest import Stack, running_stack

pytestmark = pytest.mark.slow
SHOTS = ROOT / "test-output" / "screenshots"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The real nginx (client certificates, CRL) and gunicorn of tests/sso/test_cert_nginx.py."""
    yield from running_stack(tmp_path_factory)


def _context(browser: Any, stack: Stack, who: str | None) -> Any:
    """A browser context that presents *who*'s certificate to nginx (or none)."""
    certificates = []
    if who is not None:
        issued = stack.certs[who]
        cert, key = stack.folder / f"browser-{who}.pem", stack.folder / f"browser-{who}.key"
        cert.write_text(issued.cert_pem)
        key.write_text(issued.key_pem)
        certificates = [{"origin": stack.https, "certPath": str(cert), "keyPath": str(key)}]
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900},
                                   ignore_https_errors=True, client_certificates=certificates)
    context.set_default_timeout(20_000)
    return context


def _shot(page: Any, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / name
    full_screenshot(page, str(path))
    return path


def test_chromium_signs_in_with_its_certificate(browser: Any, stack: Stack) -> None:
    context = _context(browser, stack, "zg")
    try:
        page = context.new_page()
        page.goto(stack.https + "/login")
        _shot(page, "cert-login-page.png")
        page.get_by_role("link", name="证书登录").click()
        page.wait_for_url(stack.https + "/**")
        assert "/login" not in page.url
        assert "张专管" in page.content()
        _shot(page, "cert-signed-in-home.png")
    finally:
        context.close()


def test_chromium_steps_up_and_comes_back(browser: Any, stack: Stack) -> None:
    context = _context(browser, stack, "admin")
    try:
        page = context.new_page()
        page.goto(stack.https + "/login?next=/admin/plugins")
        page.fill("#username", "admin")
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="登录", exact=True).click()
        page.wait_for_load_state()
        assert "需要证书登录" in page.content()
        _shot(page, "cert-step-up.png")
        page.get_by_role("link", name="使用我的证书登录").click()
        page.wait_for_url(stack.https + "/admin/plugins")
        assert "需要证书登录" not in page.content()
    finally:
        context.close()


def test_chromium_with_a_revoked_certificate_gets_the_refusal_page(browser: Any,
                                                                   stack: Stack) -> None:
    context = _context(browser, stack, "revoked_in_crl")
    try:
        page = context.new_page()
        response = page.goto(stack.https + "/login/certificate")
        assert response is not None and response.status == 403
        assert "证书已被吊销" in page.content()
        _shot(page, "cert-refused.png")
    finally:
        context.close()


def test_chromium_administers_certificates(browser: Any, stack: Stack) -> None:
    context = _context(browser, stack, "admin")
    try:
        page = context.new_page()
        page.goto(stack.https + "/login/certificate?next=/admin/certificates")
        page.wait_for_url(stack.https + "/admin/certificates")
        page.fill("#ref-person", "ld")
        page.locator("form.ca-issue-form").first.get_by_role("button").click()
        page.wait_for_url(stack.https + "/admin/certificates/person/ld")
        assert "钱领导 的证书" in page.content()
        _shot(page, "cert-admin-person.png")
        page.get_by_role("button", name="下载 PKCS#12").first.click()
        page.wait_for_load_state()
        password = page.locator(".one-time-password code").inner_text()
        assert len(password) == 19
        _shot(page, "cert-admin-pkcs12.png")
        with page.expect_download() as download:
            page.get_by_role("link", name="下载文件").click()
        assert download.value.suggested_filename.endswith(".p12")
        page.goto(stack.https + "/admin/certificates")
        _shot(page, "cert-admin-index.png")
    finally:
        context.close()
