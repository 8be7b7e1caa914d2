"""The CA plugin's own tables: the authority itself and every certificate it issued."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.toolkit import Model, OrgUnit, Person


class CaAuthority(Model):
    """The company CA. One row; the key is encrypted with ``CA_KEY_PASSWORD``. Kept in the
    database rather than on a node's disk so that every web node can issue and verify."""

    __tablename__ = "ca_authority"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cert_pem: Mapped[str] = mapped_column(Text)
    key_pem: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class IssuedCertificate(Model):
    """A certificate the CA issued to a person (signs in) or a department (signs documents).

    Times are naive UTC. ``serial`` is upper-case hexadecimal without leading zeros, as the
    serial is compared with what the TLS proxy reports. The private key is kept (encrypted) so
    that the person can download it again as PKCS#12 and so that a department can sign.
    """

    __tablename__ = "ca_certificate"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    serial: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("person.id"), index=True)
    org_unit_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    subject_dn: Mapped[str] = mapped_column(String(500), index=True)
    not_before: Mapped[datetime] = mapped_column(DateTime)
    not_after: Mapped[datetime] = mapped_column(DateTime)
    cert_pem: Mapped[str] = mapped_column(Text)
    key_pem: Mapped[str | None] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(64), default="")
    issued_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime)
    revocation_reason: Mapped[str | None] = mapped_column(String(32))

    person: Mapped[Person | None] = relationship()
    org_unit: Mapped[OrgUnit | None] = relationship()

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def expired(self, now: datetime | None = None) -> bool:
        now = now or datetime.now(UTC).replace(tzinfo=None)
        return not (self.not_before <= now <= self.not_after)

    def status(self, now: datetime | None = None) -> str:
        """``revoked``, ``expired`` or ``valid`` (for lists and the command line)."""
        if self.revoked:
            return "revoked"
        return "expired" if self.expired(now) else "valid"
