"""Which people came from the directory, so that ``portal ldap sync`` deactivates only them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.toolkit import Model


class DirectoryLink(Model):
    """A person the directory vouches for. People created in the portal by hand (a local
    emergency administrator) have none, so a sync never deactivates them."""

    __tablename__ = "ldap_link"

    person_id: Mapped[int] = mapped_column(
        ForeignKey("person.id", ondelete="CASCADE"), primary_key=True)
    dn: Mapped[str] = mapped_column(String(500))
    seen_at: Mapped[datetime] = mapped_column(DateTime)
    #: Set when a sync deactivated the person because their entry was gone: only such people
    #: are reactivated when the entry comes back (not those an administrator deactivated).
    gone: Mapped[bool] = mapped_column(Boolean, default=False)
