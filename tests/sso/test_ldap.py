"""LDAP sign-in against a real slapd loaded with the demo organisation."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ldap
import pytest
from flask import Flask
from sqlalchemy import event, select

from portal.models import AuditEntry, OrgUnit, Person, Post, PostAssignment
from portal.people import principal_for
from sso.ldap.directory import Directory, LdapConfig
from sso.ldap.models import DirectoryLink
from tests.conftest import make_app
from tests.sso.slapd import PASSWORD, DemoDirectory, org_without_people

INJECTIONS = ["*", "*)(uid=*))(|(uid=*", "admin)(|(objectClass=*", "kehu0*", "kehu01\x00",
              "kehu01)(uid=*", "\\2a", "(uid=kehu01)", "*)(|(userPassword=*"]


class Runner:
    """``portal ldap ...`` against *app* (the plugin's command group, as ``portal`` adds it)."""

    def __init__(self, app: Flask) -> None:
        self.app = app

    def invoke(self, args: list[str]) -> Any:
        from click.testing import CliRunner
        from flask.cli import ScriptInfo

        from sso.ldap.plugin import ldap_group

        assert args[0] == "ldap"
        return CliRunner().invoke(ldap_group, args[1:],
                                  obj=ScriptInfo(create_app=lambda: self.app))


def ldap_app(tmp_path: Path, directory: DemoDirectory, **extra: Any) -> Flask:
    app = make_app(f"sqlite:///{tmp_path}/portal.db", **directory.settings(**extra))
    org_without_people(app)
    return app


@pytest.fixture
def app(tmp_path: Path, directory: DemoDirectory) -> Iterator[Flask]:
    app = ldap_app(tmp_path, directory)
    yield app
    app.extensions["sso_ldap"].directory.close()
    app.extensions["portal"].db.engine.dispose()


def login(app: Flask, username: str, password: str = PASSWORD, **headers: str) -> Any:
    return app.test_client().post("/login", data={"username": username, "password": password},
                                  headers=headers)


def person(app: Flask, username: str) -> Person | None:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        found = s.scalars(select(Person).where(Person.username == username)).first()
        if found is not None:
            s.expunge(found)
        return found


def posts_of(app: Flask, username: str) -> dict[str, bool]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        rows = s.execute(select(Post.code, PostAssignment.manages).join(PostAssignment.post)
                         .join(Person, Person.id == PostAssignment.person_id)
                         .where(Person.username == username))
        return {code: manages for code, manages in rows}


def audit_actions(app: Flask) -> list[tuple[str, str, dict[str, Any]]]:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        return [(a.action, a.target, a.detail)
                for a in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


# --- sign-in and provisioning ----------------------------------------------------------------


def test_first_sign_in_provisions_the_person_from_the_directory(app: Flask) -> None:
    assert person(app, "kehu01") is None
    response = login(app, "kehu01")
    assert response.status_code == 302 and response.headers["Location"] == "/"
    kehu = person(app, "kehu01")
    assert kehu is not None and kehu.active and kehu.password_hash is None
    assert kehu.email == "kehu01@jxyc.example" and kehu.mobile and kehu.mobile.startswith("13")
    assert kehu.display_name != "kehu01"  # the directory's displayName (a Chinese name)
    with app.app_context():
        s = app.extensions["portal"].db.session()
        unit = s.get(OrgUnit, kehu.org_unit_id)
        assert unit is not None and unit.code == "JX-SQ-YX"  # 市区营销部
        assert s.get(DirectoryLink, kehu.id).dn == "uid=kehu01,ou=people,dc=jxyc,dc=example"
    assert posts_of(app, "kehu01") == {"account_manager": False}
    actions = [a for a, _t, _d in audit_actions(app)]
    assert actions == ["person.provisioned", "login"]


def test_the_session_carries_the_group_derived_posts_and_roles(app: Flask) -> None:
    client = app.test_client()
    client.post("/login", data={"username": "bumen01", "password": PASSWORD})
    with client.session_transaction() as sess:
        principal = sess["principal"]
    assert principal["posts"] == ["dept_head"] and principal["roles"] == ["manager"]
    assert principal["auth_method"] == "ldap" and principal["managed_units"]
    assert posts_of(app, "bumen01") == {"dept_head": True}  # 部门负责人 manages their unit


def test_a_repeat_sign_in_reads_once_and_builds_the_principal_the_queries_build(
        app: Flask) -> None:
    """The hot path: one joined SELECT (person, unit, posts, directory link) and the audit
    INSERT; the principal made from the loaded rows equals the one ``principal_for`` makes
    with its own queries."""
    assert login(app, "bumen01").status_code == 302  # provisioned and linked
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if "web_session" not in statement:  # sessions live in the database here, not Redis
            statements.append(" ".join(statement.split()))

    engine = app.extensions["portal"].db.engine
    client = app.test_client()
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.post("/login", data={"username": "bumen01", "password": PASSWORD})
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 302
    assert [s.split()[0] for s in statements] == ["SELECT", "INSERT"], statements
    assert "ldap_link" in statements[0] and "audit_log" in statements[1]
    with client.session_transaction() as sess:
        stored = sess["principal"]
    with app.test_request_context():
        s = app.extensions["portal"].db.session()
        bumen = s.scalars(select(Person).where(Person.username == "bumen01")).one()
        assert stored == principal_for(s, bumen, auth_method="ldap").to_dict()
    assert stored["posts"] == ["dept_head"] and stored["managed_units"]


def test_an_existing_person_is_brought_up_to_date_at_sign_in(app: Flask) -> None:
    with app.app_context():
        s = app.extensions["portal"].db.session()
        posts = {p.code: p for p in s.scalars(select(Post))}
        city = s.scalars(select(OrgUnit).where(OrgUnit.code == "JX")).one()
        stale = Person(username="kehu02", display_name="旧名字", mobile="139", org_unit_id=city.id,
                       email="old@example.com", locale="en",
                       assignments=[PostAssignment(post=posts["inspector"]),
                                    PostAssignment(post=posts["office"])])
        s.add(stale)
        s.commit()
    assert login(app, "kehu02").status_code == 302
    kehu = person(app, "kehu02")
    assert kehu is not None
    assert kehu.display_name != "旧名字" and kehu.email == "kehu02@jxyc.example"
    assert kehu.mobile != "139" and kehu.locale == "en"  # the chosen language stays
    # Both are posts the rules manage: the directory's group decides.
    assert posts_of(app, "kehu02") == {"account_manager": False}


def test_posts_no_rule_gives_are_kept(tmp_path: Path, directory: DemoDirectory) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(
        "posts:\n"
        "  - group: 客户经理\n    post: account_manager\n"
        "  - attribute: title\n    equals: 客户经理\n    post: office\n", encoding="utf-8")
    app = ldap_app(tmp_path, directory, LDAP_RULES_FILE=str(rules))
    with app.app_context():
        s = app.extensions["portal"].db.session()
        admin_post = s.scalars(select(Post).where(Post.code == "admin")).one()
        s.add(Person(username="kehu03", display_name="x",
                     assignments=[PostAssignment(post=admin_post)]))
        s.commit()
    assert login(app, "kehu03").status_code == 302
    # admin was given by hand and no rule names it; office comes from the attribute rule.
    assert posts_of(app, "kehu03") == {"admin": False, "account_manager": False, "office": False}


@pytest.mark.parametrize("username", INJECTIONS)
def test_filter_injection_never_signs_anybody_in(app: Flask, directory: DemoDirectory,
                                                 username: str) -> None:
    response = login(app, username)  # kehu01's real password, a username that is a filter
    assert response.status_code == 401
    assert "用户名或密码错误" in response.get_data(as_text=True)
    with app.app_context():
        assert app.extensions["sso_ldap"].directory.find(username) is None
        assert app.extensions["portal"].db.session().scalar(select(Person.id)) is None


def test_wrong_password_and_unknown_user_are_401_and_provision_nobody(app: Flask) -> None:
    assert login(app, "kehu01", "wrong-password").status_code == 401
    assert login(app, "nobody-here").status_code == 401
    assert person(app, "kehu01") is None
    failures = [d["reason"] for a, _t, d in audit_actions(app) if a == "login.failed"]
    assert failures == ["credentials", "credentials"]


def test_an_empty_password_is_refused_and_never_an_anonymous_bind(app: Flask,
                                                                  directory: DemoDirectory) -> None:
    response = login(app, "kehu01", "")
    assert response.status_code == 400
    assert ("login.refused", "kehu01", {"reason": "empty"}) in audit_actions(app)
    # The backend refuses it too, whatever calls it: libldap would take it for anonymous.
    with app.app_context():
        assert app.extensions["sso_ldap"].directory.check_password("kehu01", "") is None
    conn = ldap.initialize(directory.server.url)
    conn.simple_bind_s("uid=kehu01,ou=people,dc=jxyc,dc=example", "")  # what we guard against
    conn.unbind_s()


def test_oversized_fields_are_refused_and_audited(app: Flask) -> None:
    response = login(app, "k" * 5000)
    assert response.status_code == 400
    assert "过长" in response.get_data(as_text=True)
    assert any(a == "login.refused" and d == {"reason": "too long"}
               for a, _t, d in audit_actions(app))


# --- TLS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["ldaps", "starttls"])
def test_sign_in_over_tls_checks_the_server_certificate(tmp_path: Path, directory: DemoDirectory,
                                                        mode: str) -> None:
    server = directory.server
    url = server.ldaps_url if mode == "ldaps" else server.url
    before = ldap.get_option(ldap.OPT_X_TLS_CACERTFILE)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    trusted = ldap_app(tmp_path / "a", directory, LDAP_URL=url, LDAP_STARTTLS=mode == "starttls",
                       LDAP_CA_FILE=str(server.ca_file))
    assert login(trusted, "songhuo01").status_code == 302
    # Options were set on the connection, not process-wide.
    assert ldap.get_option(ldap.OPT_X_TLS_CACERTFILE) == before

    other_ca = tmp_path / "other-ca.pem"
    from sso.ldap.devserver import make_certificates

    (tmp_path / "other").mkdir()
    other_ca.write_bytes(make_certificates(tmp_path / "other")[0].read_bytes())
    untrusted = ldap_app(tmp_path / "b", directory, LDAP_URL=url,
                         LDAP_STARTTLS=mode == "starttls", LDAP_CA_FILE=str(other_ca))
    response = login(untrusted, "songhuo01")
    assert response.status_code == 503  # a certificate we cannot trust: never a sign-in


# --- the directory is down -------------------------------------------------------------------


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_directory_that_is_down_is_503_not_wrong_password(
        tmp_path: Path, directory: DemoDirectory, caplog: pytest.LogCaptureFixture) -> None:
    app = ldap_app(tmp_path, directory, LDAP_URL=f"ldap://127.0.0.1:{_closed_port()}")
    with caplog.at_level(logging.ERROR, logger="portal.views.auth"):
        response = login(app, "kehu01")
    assert response.status_code == 503
    html = response.get_data(as_text=True)
    assert "目录服务暂不可用" in html and "用户名或密码错误" not in html
    assert any("ldap unavailable" in r.getMessage() for r in caplog.records)
    assert ("login.failed", "kehu01", {"reason": "unavailable"}) in audit_actions(app)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """Accepts connections and never answers: a directory that hangs."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield int(server.getsockname()[1])
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def test_a_directory_that_hangs_times_out_into_503(tmp_path: Path, directory: DemoDirectory,
                                                   silent_server: int) -> None:
    app = ldap_app(tmp_path, directory, LDAP_URL=f"ldap://127.0.0.1:{silent_server}",
                   LDAP_TIMEOUT=0.5, LDAP_CONNECT_TIMEOUT=0.5)
    assert login(app, "kehu01").status_code == 503


def test_a_wrong_service_password_is_unavailable_not_wrong_password(
        tmp_path: Path, directory: DemoDirectory) -> None:
    app = ldap_app(tmp_path, directory, LDAP_BIND_PASSWORD="not-it")
    assert login(app, "kehu01").status_code == 503


def test_local_backend_still_answers_when_ldap_is_down(tmp_path: Path,
                                                       directory: DemoDirectory) -> None:
    from portal.passwords import hash_password

    app = ldap_app(tmp_path, directory, LDAP_URL=f"ldap://127.0.0.1:{_closed_port()}",
                   AUTH_BACKENDS=["ldap", "local"])
    with app.app_context():
        s = app.extensions["portal"].db.session()
        s.add(Person(username="rescue", display_name="应急管理员",
                     password_hash=hash_password("Rescue@2026")))
        s.commit()
    assert login(app, "rescue", "Rescue@2026").status_code == 302


# --- connections -----------------------------------------------------------------------------


def test_connections_are_reused_and_a_dead_one_is_replaced(app: Flask) -> None:
    directory: Directory = app.extensions["sso_ldap"].directory
    assert login(app, "kehu01").status_code == 302
    pooled = list(directory._bind_pool._idle)
    assert len(pooled) == 1
    assert login(app, "kehu02").status_code == 302
    assert directory._bind_pool._idle == pooled  # the same connection served the second bind
    for conn in [*directory._bind_pool._idle, *directory._search_pool._idle]:
        # As if the server had dropped idle connections: the socket is shut down under
        # libldap's feet (on a duplicate descriptor, so libldap still owns its own).
        with socket.fromfd(conn.get_option(ldap.OPT_DESC), socket.AF_INET,
                           socket.SOCK_STREAM) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    assert login(app, "kehu01").status_code == 302
    assert directory._bind_pool._idle != pooled


def test_the_config_reads_every_setting() -> None:
    config = LdapConfig.from_settings({
        "LDAP_URL": "ldaps://a ldap://b", "LDAP_BASE_DN": "dc=x", "LDAP_BIND_DN": "cn=r",
        "LDAP_BIND_PASSWORD": "p", "LDAP_USER_FILTER": "", "LDAP_USERNAME_ATTRIBUTE": "uid",
        "LDAP_UNITS_DN": "", "LDAP_STARTTLS": False, "LDAP_CA_FILE": "", "LDAP_TIMEOUT": 1.0,
        "LDAP_CONNECT_TIMEOUT": 1.0, "LDAP_POOL_SIZE": 2})
    assert config.uses_tls and config.user_filter == "(objectClass=*)"


# --- portal ldap sync / export-ldif ----------------------------------------------------------


def test_sync_creates_people_and_is_idempotent(db_app: Flask, directory: DemoDirectory) -> None:
    app = make_app(db_app.extensions["portal"].settings["DATABASE_URL"], **directory.settings())
    org_without_people(app)
    result = Runner(app).invoke(["ldap", "sync"])
    assert result.exit_code == 0, result.output
    assert "people: 270 created, 0 updated, 0 unchanged, 0 deactivated" in result.output
    assert posts_of(app, "zhuanguan01") == {"inspector": False}
    assert posts_of(app, "lingdao01") == {"leader": True}
    again = Runner(app).invoke(["ldap", "sync"])
    assert "people: 0 created, 0 updated, 270 unchanged" in again.output
    assert "org units: 0 created, 0 updated" in again.output
    app.extensions["portal"].db.engine.dispose()


def test_sync_deactivates_people_gone_from_the_directory(app: Flask) -> None:
    from datetime import datetime

    assert Runner(app).invoke(["ldap", "sync"]).exit_code == 0
    with app.app_context():
        s = app.extensions["portal"].db.session()
        gone = Person(username="left01", display_name="已离职")
        local = Person(username="rescue", display_name="应急管理员")
        s.add_all([gone, local])
        s.flush()
        s.add(DirectoryLink(person_id=gone.id, dn="uid=left01,ou=people,dc=jxyc,dc=example",
                            seen_at=datetime.now()))
        unit = s.scalars(select(OrgUnit).where(OrgUnit.code == "JX-HN")).one()
        unit.name = "改错的名字"
        s.commit()
    result = Runner(app).invoke(["ldap", "sync"])
    assert result.exit_code == 0, result.output
    assert "1 deactivated" in result.output and "deactivated: left01" in result.output
    assert "org units: 0 created, 1 updated" in result.output
    assert not person(app, "left01").active  # type: ignore[union-attr]
    assert person(app, "rescue").active  # type: ignore[union-attr]  # never from the directory
    assert any(a == "ldap.sync" for a, _t, _d in audit_actions(app))


def test_sync_ends_the_sessions_of_people_it_deactivates(tmp_path: Path,
                                                         directory: DemoDirectory) -> None:
    from datetime import datetime

    from portal.passwords import hash_password

    app = ldap_app(tmp_path, directory, AUTH_BACKENDS=["ldap", "local"])
    with app.app_context():
        s = app.extensions["portal"].db.session()
        gone = Person(username="left02", display_name="已离职",
                      password_hash=hash_password("Left@2026"))
        s.add(gone)
        s.flush()
        s.add(DirectoryLink(person_id=gone.id, dn="uid=left02,ou=people,dc=jxyc,dc=example",
                            seen_at=datetime.now()))
        s.commit()
    client = app.test_client()
    assert client.post("/login", data={"username": "left02", "password": "Left@2026"}
                       ).status_code == 302
    assert client.get("/account/sessions").status_code == 200
    result = Runner(app).invoke(["ldap", "sync"])
    assert "deactivated: left02" in result.output
    assert client.get("/account/sessions").status_code == 302  # signed out by the sync
    assert login(app, "left02", "Left@2026").status_code == 401  # and cannot come back


def test_sync_creates_missing_units_from_the_tree(tmp_path: Path, directory: DemoDirectory) -> None:
    app = make_app(f"sqlite:///{tmp_path}/empty.db", **directory.settings())
    with app.app_context():  # posts only: every unit comes from the directory
        from portal.demo.generate import build_posts

        s = app.extensions["portal"].db.session()
        build_posts(s)
        s.commit()
    result = Runner(app).invoke(["ldap", "sync"])
    assert result.exit_code == 0, result.output
    assert "org units: 30 created" in result.output
    with app.app_context():
        s = app.extensions["portal"].db.session()
        city = s.scalars(select(OrgUnit).where(OrgUnit.code == "JX")).one()
        marketing = s.scalars(select(OrgUnit).where(OrgUnit.code == "JX-SQ-YX")).one()
        assert city.kind == "city" and city.parent_id is None
        assert marketing.kind == "marketing" and marketing.path.startswith(city.path)
        assert marketing.name == "市区营销部"
    assert person(app, "kehu01").org_unit_id == marketing.id  # type: ignore[union-attr]


def test_sync_with_the_directory_down_fails_and_changes_nothing(
        tmp_path: Path, directory: DemoDirectory) -> None:
    app = ldap_app(tmp_path, directory, LDAP_URL=f"ldap://127.0.0.1:{_closed_port()}")
    result = Runner(app).invoke(["ldap", "sync"])
    assert result.exit_code == 1
    assert "directory unavailable, nothing changed" in result.output
    assert person(app, "kehu01") is None


def test_sync_refuses_a_directory_without_people(tmp_path: Path,
                                                 directory: DemoDirectory) -> None:
    app = ldap_app(tmp_path, directory, LDAP_BASE_DN=f"ou=groups,{directory.base_dn}")
    result = Runner(app).invoke(["ldap", "sync"])
    assert result.exit_code == 1 and "nothing was changed" in result.output


def test_sync_without_ldap_configured_says_so(tmp_path: Path) -> None:
    app = make_app(f"sqlite:///{tmp_path}/p.db")
    result = Runner(app).invoke(["ldap", "sync"])
    assert result.exit_code == 1 and "PORTAL_LDAP_URL" in result.output


def test_export_ldif_writes_the_organisation(app: Flask, directory: DemoDirectory) -> None:
    assert Runner(app).invoke(["ldap", "sync"]).exit_code == 0
    result = Runner(app).invoke(["ldap", "export-ldif", "--password", "x"])
    assert result.exit_code == 0, result.output
    assert "dn: uid=kehu01,ou=people,dc=jxyc,dc=example" in result.output
    assert "objectClass: groupOfNames" in result.output and "{SSHA}" in result.output
    empty = Runner(make_app(f"sqlite:///{Path(directory.server.folder)}/none.db"))
    assert empty.invoke(["ldap", "export-ldif"]).exit_code == 1


def test_portal_config_masks_the_service_password(app: Flask, directory: DemoDirectory) -> None:
    from tests.conftest import Runner as CoreRunner

    result = CoreRunner(app).invoke(["config"])
    assert "PORTAL_LDAP_BIND_PASSWORD = '********'" in result.output
    assert directory.reader_password not in result.output
