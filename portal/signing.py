"""Document signatures through plugins: ``sign`` and ``verify`` call the ``portal_sign`` and
``portal_verify_signature`` hooks, so a plugin signs documents without importing the CA."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from flask import current_app
from flask_babel import gettext
from sqlalchemy.orm import Session


@dataclass(frozen=True)
class SignatureInfo:
    """Who signed: the certificate's subject, the org unit it belongs to, its serial number
    and when the signature was made (from the signature, when it says so)."""

    signer_subject: str
    unit_id: int | None
    serial: str
    signed_at: datetime | None = None


class SigningError(Exception):
    """Nobody could sign: no signing plugin, or no valid certificate for the unit (409)."""

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class SignatureInvalid(Exception):
    """The data was changed since it was signed, or the signature is not a trusted one."""

    status = 422

    def __init__(self, message: str, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.reason = reason


def sign(db: Session, unit_id: int, data: bytes) -> bytes:
    """A detached signature of *data* by the unit's certificate; ``SigningError`` if none."""
    result = current_app.extensions["portal"].plugins.pm.hook.portal_sign(
        db=db, unit_id=unit_id, data=data)
    if result is None:
        raise SigningError(gettext("No plugin can sign for this unit; ask the administrator "
                                   "to issue the unit a certificate."))
    return bytes(result)


def verify(db: Session, signature: bytes, data: bytes) -> SignatureInfo:
    """Who signed *data*; ``SignatureInvalid`` when it was changed or is not trusted."""
    result = current_app.extensions["portal"].plugins.pm.hook.portal_verify_signature(
        db=db, signature=signature, data=data)
    if result is None:
        raise SignatureInvalid(gettext("The signature is invalid or the file was changed."),
                               "no plugin recognised the signature")
    if not isinstance(result, SignatureInfo):
        raise TypeError(f"portal_verify_signature returned {result!r}, not a SignatureInfo")
    return result
