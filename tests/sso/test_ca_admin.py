"""Certificate administration pages and the person's own certificates (PKCS#12 once)."""

from __future__ import annotations

import re
from pathlib import Path

from cryptography.hazmat.primitives.serialization import pkcs12
from flask import Flask
from sqlalchemy import select

from portal.models import AuditEntry
from sso.ca.models import IssuedCertificate
from tests.conftest import Auth, Runner, make_app, seed_org
from tests.sso.conftest import issue_cert

PASSWORD_SHOWN = re.compile(r'class="one-time-password"><code>([^<]+)</code>')
DOWNLOAD = re.compile(r'href="(/certificates/download/[^"]+)"')


def admin(app: Flask) -> Auth:
    auth = Auth(app.test_client())
    auth.login("admin")
    return auth


def records(app: Flask) -> list[IssuedCertificate]:
    with app.app_context():
        return list(app.extensions["portal"].db.session().scalars(
            select(IssuedCertificate).order_by(IssuedCertificate.id)))


def actions(app: Flask) -> list[tuple[str, str]]:
    with app.app_context():
        return [(a.action, a.actor) for a in app.extensions["portal"].db.session().scalars(
            select(AuditEntry).order_by(AuditEntry.id))]


def test_issue_list_and_revoke_from_the_admin_pages(ca_app: Flask) -> None:
    auth = admin(ca_app)
    done = auth.client.post("/admin/certificates/issue", data={"kind": "person", "ref": "zg"})
    assert done.status_code == 302 and done.headers["Location"] == \
        "/admin/certificates/person/zg"
    auth.client.post("/admin/certificates/issue", data={"kind": "department", "ref": "HN"})
    person, dept = records(ca_app)
    page = auth.client.get("/admin/certificates").get_data(as_text=True)
    assert person.serial in page and dept.serial in page and "海宁市局" in page
    mine = auth.client.get("/admin/certificates/person/zg").get_data(as_text=True)
    assert "张专管 的证书" in mine and person.serial in mine and dept.serial not in mine
    unit = auth.client.get("/admin/certificates/department/HN").get_data(as_text=True)
    assert dept.serial in unit and "下载 PKCS#12" not in unit  # a department key stays here
    revoked = auth.client.post(f"/admin/certificates/{person.serial}/revoke",
                               data={"reason": "affiliationChanged"})
    assert revoked.headers["Location"] == "/admin/certificates/person/zg"
    assert records(ca_app)[0].revocation_reason == "affiliationChanged"
    again = auth.client.post(f"/admin/certificates/{person.serial}/revoke",
                             data={"reason": "affiliationChanged"})
    assert again.status_code == 409
    assert ("ca.issue", "admin") in actions(ca_app) and ("ca.revoke", "admin") in actions(ca_app)


def test_bad_admin_input_is_refused_without_saving(ca_app: Flask) -> None:
    auth = admin(ca_app)
    for data, status in [({"kind": "robot", "ref": "zg"}, 400), ({"kind": "person"}, 400),
                         ({"kind": "person", "ref": "x" * 65}, 400),
                         ({"kind": "person", "ref": "nobody"}, 404),
                         ({"kind": "department", "ref": "XX"}, 404)]:
        response = auth.client.post("/admin/certificates/issue", data=data)
        assert response.status_code == status, data
    assert auth.client.post("/admin/certificates/XYZ/revoke").status_code == 400
    assert auth.client.post("/admin/certificates/ABC/revoke").status_code == 404
    issued = issue_cert(ca_app, person="zg")
    assert auth.client.post(f"/admin/certificates/{issued.serial}/revoke",
                            data={"reason": "because"}).status_code == 400
    assert auth.client.get("/admin/certificates?kind=robot").status_code == 400
    assert auth.client.get("/admin/certificates/person/nobody").status_code == 404
    assert [r.serial for r in records(ca_app)] == [issued.serial]
    assert records(ca_app)[0].revoked_at is None


def test_the_administration_page_links_to_the_certificates(ca_app: Flask) -> None:
    page = admin(ca_app).client.get("/admin/").get_data(as_text=True)
    assert '<a href="/admin/certificates">证书管理</a>' in page


def test_only_admins_see_the_admin_pages(ca_app: Flask) -> None:
    auth = Auth(ca_app.test_client())
    auth.login("zg")
    assert auth.client.get("/admin/certificates").status_code == 403
    assert auth.client.post("/admin/certificates/issue",
                            data={"kind": "person", "ref": "zg"}).status_code == 403
    assert records(ca_app) == []


def test_pkcs12_download_shows_the_password_once_and_works_once(ca_app: Flask) -> None:
    issued = issue_cert(ca_app, person="zg")
    auth = admin(ca_app)
    page = auth.client.post(f"/admin/certificates/{issued.serial}/pkcs12")
    html = page.get_data(as_text=True)
    password = PASSWORD_SHOWN.search(html)
    link = DOWNLOAD.search(html)
    assert page.status_code == 200 and password and link
    file = auth.client.get(link.group(1))
    assert file.status_code == 200 and file.mimetype == "application/x-pkcs12"
    assert file.headers["Cache-Control"] == "no-store"
    key, cert, _cas = pkcs12.load_key_and_certificates(file.data, password.group(1).encode())
    assert key is not None and cert is not None and f"{cert.serial_number:X}" == issued.serial
    assert auth.client.get(link.group(1)).status_code == 404  # once
    other = admin(ca_app)  # another session never gets this session's file
    assert other.client.get(link.group(1)).status_code == 404
    assert ("ca.export_pkcs12", "admin") in actions(ca_app)


def test_a_person_downloads_their_own_certificate_only(ca_app: Flask) -> None:
    own = issue_cert(ca_app, person="zg")
    theirs = issue_cert(ca_app, person="km")
    auth = Auth(ca_app.test_client())
    auth.login("zg")
    listing = auth.client.get("/me/certificates").get_data(as_text=True)
    assert own.serial[:12] in listing and theirs.serial[:12] not in listing
    mine = auth.client.post(f"/me/certificates/{own.serial}/pkcs12")
    assert mine.status_code == 200 and PASSWORD_SHOWN.search(mine.get_data(as_text=True))
    refused = auth.client.post(f"/me/certificates/{theirs.serial}/pkcs12")
    assert refused.status_code == 403
    assert ("ca.export_pkcs12.refused", "zg") in actions(ca_app)
    assert auth.client.get("/me/certificates").status_code == 200
    auth.logout()
    assert auth.client.get("/me/certificates").headers["Location"].startswith("/login")


def test_an_admin_gets_others_keys_only_through_the_admin_pages(tmp_path: Path) -> None:
    """The self-service route is for one's own certificates even for an administrator, so that
    ADMIN_ASSURANCE=certificate cannot be side-stepped with a password session."""
    app = make_app(f"sqlite:///{tmp_path}/portal.db", ADMIN_ASSURANCE="certificate")
    seed_org(app)
    assert Runner(app).invoke(["ca", "init"]).exit_code == 0
    theirs = issue_cert(app, person="zg")
    auth = admin(app)
    assert auth.client.post(f"/me/certificates/{theirs.serial}/pkcs12").status_code == 403
    asked = auth.client.post(f"/admin/certificates/{theirs.serial}/pkcs12")
    assert asked.status_code == 403 and "需要证书登录" in asked.get_data(as_text=True)
    assert "ca.export_pkcs12" not in [action for action, _actor in actions(app)]


def test_published_ca_certificate(ca_app: Flask) -> None:
    response = ca_app.test_client().get("/ca/ca.pem")
    assert response.status_code == 200 and b"BEGIN CERTIFICATE" in response.data
