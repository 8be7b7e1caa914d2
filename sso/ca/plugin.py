"""Registration of the company CA: its tables, pages, ``portal ca`` commands and catalogue."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
from flask import Blueprint, url_for

from portal.toolkit import gettext, hookimpl
from sso.ca import service

HERE = Path(__file__).parent


@hookimpl
def portal_migrations() -> str:
    return str(HERE / "migrations" / "versions")


@hookimpl
def portal_translations() -> str:
    return str(HERE / "translations")


@hookimpl
def portal_blueprints() -> Iterable[Blueprint]:
    from sso.ca.views import bp

    return [bp]


@hookimpl
def portal_admin_links() -> Iterable[tuple[str, str, str]]:
    return [(gettext("Certificates"), url_for("ca.admin_index"),
             gettext("company CA: issue, revoke and download certificates of persons and "
                     "departments"))]


@hookimpl
def portal_cli(cli: click.Group) -> None:
    from sso.ca.cli import ca_group

    cli.add_command(ca_group)


@hookimpl
def portal_demo_data(session: Any) -> None:
    """The demo gets its own CA, so that ``portal ca issue`` works right away, and every
    unit a department certificate, so that documents can be sealed (issue 8)."""
    if not service.has_authority(session):
        service.init_authority(session, "个人工作平台演示 CA", "嘉兴市烟草公司")
    from sqlalchemy import select

    from portal.toolkit import OrgUnit

    for code in session.scalars(select(OrgUnit.code).order_by(OrgUnit.path)):
        unit_id = session.scalar(select(OrgUnit.id).where(OrgUnit.code == code))
        if service.department_certificate(session, unit_id) is None:
            service.issue_for_department(session, code)


@hookimpl
def portal_sign(db: Any, unit_id: int, data: bytes) -> bytes:
    """Documents are signed with the newest valid department certificate of the unit."""
    from portal.toolkit import OrgUnit, SigningError

    record = service.department_certificate(db, unit_id)
    if record is None:
        unit = db.get(OrgUnit, unit_id)
        raise SigningError(gettext(
            "%(unit)s has no valid department certificate; an administrator issues one with "
            "“portal ca issue --department %(code)s”.", unit=unit.name if unit else unit_id,
            code=unit.code if unit else "?"))
    try:
        return service.sign_detached(db, record.id, data)
    except service.CaError as exc:
        raise SigningError(exc.message) from None


@hookimpl
def portal_verify_signature(db: Any, signature: bytes, data: bytes) -> Any:
    """Who signed, from our own records; tampered data or an unknown signer is invalid."""
    from portal.toolkit import SignatureInfo, SignatureInvalid
    from sso.ca.authority import SignatureInvalid as CaSignatureInvalid

    try:
        record = service.verify_detached(db, signature, data)
    except CaSignatureInvalid as exc:
        raise SignatureInvalid(gettext("The signature is invalid or the file was changed."),
                               str(exc)) from None
    except service.CaError as exc:
        raise SignatureInvalid(exc.message, "no CA") from None
    return SignatureInfo(signer_subject=record.subject_dn, unit_id=record.org_unit_id,
                         serial=record.serial)
