"""Plugin registration of the LDAP backend: sign-in, provisioning, ``portal ldap ...`` commands.

Active when ``LDAP_URL`` is set; it signs people in only when ``"ldap"`` is in
``AUTH_BACKENDS`` (e.g. ``["ldap", "local"]`` keeps a local emergency administrator).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import bindparam

from portal.signin import end_sessions_of
from portal.toolkit import (
    AuthBackend,
    DirectoryUnavailable,
    Identity,
    Person,
    audit,
    db_session,
    hookimpl,
)
from sso.ldap.directory import Directory, LdapConfig
from sso.ldap.models import DirectoryLink
from sso.ldap.sync import SyncError, link, sync
from sso.provisioning import (
    ProvisioningError,
    ProvisioningRules,
    person_query,
    provision_with_outcome,
    username_of,
)

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
EXTENSION = "sso_ldap"


class LdapBackend:
    """Checks the password against the directory, then creates or updates the person from
    their entry, so the portal knows them before ``sign_in``."""

    name = "ldap"

    def __init__(self, directory: Directory, rules: ProvisioningRules) -> None:
        self.directory = directory
        self.rules = rules
        # The person, their unit, posts and directory link in one round trip; built once.
        self._person_and_link = person_query(bindparam("username")).add_columns(
            DirectoryLink).outerjoin(DirectoryLink, DirectoryLink.person_id == Person.id)

    def authenticate(self, username: str, password: str) -> Identity | None:
        entry = self.directory.check_password(username, password)
        if entry is None:
            return None
        db = db_session()
        stored_name = username_of(entry.attributes, self.rules)
        loaded = None
        if stored_name is not None:
            # link() below then finds the link in the session without a query of its own.
            row = db.execute(self._person_and_link, {"username": stored_name}).unique().first()
            loaded = row[0] if row is not None else None
        try:
            result = provision_with_outcome(db, entry.attributes, self.rules, loaded=loaded)
        except ProvisioningError as exc:
            log.error("LDAP entry %s cannot be a portal person: %s", entry.dn, exc)
            return None
        link(db, result.person, entry.dn, datetime.now())
        if result.outcome == "created":
            audit(db, "person.provisioned", result.person.username, actor="ldap", dn=entry.dn)
        return Identity(username=result.person.username, backend=self.name,
                        attributes=dict(entry.attributes), person=result.person)


def load_rules(settings: dict[str, Any]) -> ProvisioningRules:
    return ProvisioningRules.load(settings["LDAP_RULES_FILE"] or HERE / "rules.yaml")


@hookimpl
def portal_auth_backends(app: Flask) -> Iterable[AuthBackend]:
    settings = app.extensions["portal"].settings
    if not settings["LDAP_URL"]:
        if "ldap" in settings["AUTH_BACKENDS"]:
            log.error("AUTH_BACKENDS names ldap but LDAP_URL is not set; LDAP sign-in is off")
        return []
    backend = LdapBackend(Directory(LdapConfig.from_settings(settings)), load_rules(settings))
    app.extensions[EXTENSION] = backend
    return [backend]


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_cli(cli: click.Group) -> None:
    cli.add_command(ldap_group)


@click.group("ldap")
def ldap_group() -> None:
    """The LDAP directory: sync people and units, export the organisation as LDIF."""


@ldap_group.command("sync")
@with_appcontext
def sync_cmd() -> None:
    """Refresh people, org units and group-derived posts from the directory; deactivate people
    whose entry is gone. Exit 1 with a message when the directory cannot be read."""
    backend: LdapBackend | None = current_app.extensions.get(EXTENSION)
    if backend is None:
        raise click.ClickException("LDAP is not configured (set PORTAL_LDAP_URL)")
    db = db_session()
    try:
        summary = sync(db, backend.directory, backend.rules)
    except DirectoryUnavailable as exc:
        db.rollback()
        raise click.ClickException(f"directory unavailable, nothing changed: {exc}") from None
    except SyncError as exc:
        db.rollback()
        raise click.ClickException(str(exc)) from None
    audit(db, "ldap.sync", backend.directory.config.base_dn, actor="portal ldap sync",
          created=summary.created, updated=summary.updated,
          deactivated=summary.deactivated, reactivated=summary.reactivated)
    db.commit()
    for line in summary.lines():
        click.echo(line)
    for person_id in summary.deactivated_ids:  # they must not stay signed in either
        end_sessions_of(person_id)


@ldap_group.command("export-ldif")
@click.option("--base-dn", default="dc=jxyc,dc=example", show_default=True)
@click.option("--password", envvar="PORTAL_DEMO_PASSWORD", default=None,
              help="Password every person gets (default: the DEMO_PASSWORD setting).")
@click.option("--reader-password", default=None,
              help="Also write the service account cn=portal-reader with this password.")
@click.option("-o", "--output", type=click.File("w", encoding="utf-8"), default="-")
@with_appcontext
def export_ldif_cmd(base_dn: str, password: str | None, reader_password: str | None,
                    output: Any) -> None:
    """Write the portal's organisation (units, people, post groups) as LDIF."""
    from sso.ldap.ldif import export_ldif

    secret = password or current_app.extensions["portal"].settings["DEMO_PASSWORD"]
    text = export_ldif(db_session(), base_dn, secret, reader_password)
    if "uid=" not in text:
        click.echo("the database has no people; run `portal demo-data` first", err=True)
        sys.exit(1)
    output.write(text)
