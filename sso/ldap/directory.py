"""Talking to the LDAP directory: pooled connections, search as the service account, bind as
the person.

Two small pools per worker process: one of connections bound as the service account (searches),
one for the people's own binds (a bind replaces the connection's identity, so those connections
never search). Every option is set on the connection (``ldap.initialize(...).set_option``),
never with the process-wide ``ldap.set_option``, so two directories, or a test's directory and
the app's, never share TLS settings. With GnuTLS (Debian's libldap) ``OPT_X_TLS_NEWCTX`` must be
the last TLS option: it builds the TLS context from the options set before it.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, TypeVar

import ldap
import ldap.filter
from ldap.controls import SimplePagedResultsControl
from ldap.ldapobject import LDAPObject

from portal.toolkit import DirectoryUnavailable

log = logging.getLogger(__name__)
T = TypeVar("T")

#: The directory could not answer: down, unreachable, too slow, refusing work. Never "wrong
#: password".
UNAVAILABLE: tuple[type[Exception], ...] = (
    ldap.SERVER_DOWN, ldap.TIMEOUT, ldap.CONNECT_ERROR, ldap.UNAVAILABLE, ldap.BUSY,
    ldap.TIMELIMIT_EXCEEDED, ldap.ADMINLIMIT_EXCEEDED, ldap.OTHER,
)
PAGE_SIZE = 500
#: Longer than any user name the portal stores: refused before asking the directory.
MAX_USERNAME = 64


@dataclass(frozen=True)
class LdapConfig:
    url: str
    base_dn: str
    bind_dn: str = ""
    bind_password: str = ""
    user_filter: str = "(objectClass=inetOrgPerson)"
    username_attribute: str = "uid"
    units_dn: str = ""
    starttls: bool = False
    ca_file: str = ""
    timeout: float = 5.0
    connect_timeout: float = 3.0
    pool_size: int = 8

    @classmethod
    def from_settings(cls, settings: Mapping[str, Any]) -> LdapConfig:
        return cls(url=settings["LDAP_URL"], base_dn=settings["LDAP_BASE_DN"],
                   bind_dn=settings["LDAP_BIND_DN"], bind_password=settings["LDAP_BIND_PASSWORD"],
                   user_filter=settings["LDAP_USER_FILTER"] or "(objectClass=*)",
                   username_attribute=settings["LDAP_USERNAME_ATTRIBUTE"],
                   units_dn=settings["LDAP_UNITS_DN"], starttls=settings["LDAP_STARTTLS"],
                   ca_file=settings["LDAP_CA_FILE"], timeout=settings["LDAP_TIMEOUT"],
                   connect_timeout=settings["LDAP_CONNECT_TIMEOUT"],
                   pool_size=settings["LDAP_POOL_SIZE"])

    @property
    def uses_tls(self) -> bool:
        return self.starttls or any(u.lower().startswith("ldaps://") for u in self.url.split())


@dataclass(frozen=True)
class Entry:
    """One directory entry with its text attributes (binary ones, like photos, are left out)."""

    dn: str
    attributes: dict[str, list[str]]

    def first(self, name: str) -> str | None:
        for key, values in self.attributes.items():
            if key.lower() == name.lower() and values:
                return values[0]
        return None


#: Never kept, even where the service account may read them.
SECRET_ATTRIBUTES = frozenset({"userpassword", "unicodepwd", "sambantpassword"})


def _entry(dn: str, raw: Mapping[str, list[bytes]]) -> Entry:
    attrs: dict[str, list[str]] = {}
    for name, values in raw.items():
        if name.lower() in SECRET_ATTRIBUTES:
            continue
        try:
            attrs[name] = [v.decode("utf-8") for v in values]
        except UnicodeDecodeError:
            continue
    return Entry(dn, attrs)


def _open(config: LdapConfig, bind: bool) -> LDAPObject:
    conn = ldap.initialize(config.url)
    conn.set_option(ldap.OPT_PROTOCOL_VERSION, 3)
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, config.connect_timeout)
    conn.set_option(ldap.OPT_TIMEOUT, config.timeout)
    if config.uses_tls:
        conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        if config.ca_file:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, config.ca_file)
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # last: GnuTLS builds the context from the above
    try:
        if config.starttls:
            conn.start_tls_s()
        if bind:
            conn.simple_bind_s(config.bind_dn, config.bind_password)
    except Exception:
        with suppress(ldap.LDAPError):
            conn.unbind_s()
        raise
    return conn


class ConnectionPool:
    """A few idle connections, handed out to one thread at a time.

    A connection that failed with a network error is dropped; one taken from the pool that
    turns out to be dead (the server closed it while idle) is replaced once, transparently.
    Connections are never shared across ``fork``: a worker finds the pool of its parent empty.
    """

    def __init__(self, opener: Callable[[], LDAPObject], size: int) -> None:
        self._opener = opener
        self._size = max(size, 0)
        self._idle: list[LDAPObject] = []
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def _take(self) -> LDAPObject | None:
        with self._lock:
            if self._pid != os.getpid():
                self._idle, self._pid = [], os.getpid()
            return self._idle.pop() if self._idle else None

    def _give_back(self, conn: LDAPObject) -> None:
        with self._lock:
            if self._pid == os.getpid() and len(self._idle) < self._size:
                self._idle.append(conn)
                return
        _close(conn)

    def run(self, work: Callable[[LDAPObject], T]) -> T:
        conn = self._take()
        reused = conn is not None
        while True:
            if conn is None:
                conn = self._opener()
            try:
                result = work(conn)
            except UNAVAILABLE:
                _close(conn)
                if reused:  # a stale idle connection: try once with a fresh one
                    conn, reused = None, False
                    continue
                raise
            except Exception:
                self._give_back(conn)  # e.g. INVALID_CREDENTIALS: the connection is fine
                raise
            self._give_back(conn)
            return result

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            _close(conn)


def _close(conn: LDAPObject) -> None:
    with suppress(ldap.LDAPError):
        conn.unbind_s()


class Directory:
    """The directory's people and units, and the one check a sign-in needs."""

    def __init__(self, config: LdapConfig) -> None:
        self.config = config
        self._search_pool = ConnectionPool(lambda: _open(config, bind=True), config.pool_size)
        self._bind_pool = ConnectionPool(lambda: _open(config, bind=False), config.pool_size)

    # -- sign-in -------------------------------------------------------------------------------

    def check_password(self, username: str, password: str) -> Entry | None:
        """The person's entry if *password* is theirs; ``None`` for wrong or unknown.

        Raises ``DirectoryUnavailable`` when the directory cannot tell.
        """
        if not password or not username or len(username) > MAX_USERNAME:
            return None  # an empty password would be an anonymous bind, which "succeeds"
        entry = self.find(username)
        if entry is None:
            return None

        def bind(conn: LDAPObject) -> bool:
            try:
                conn.simple_bind_s(entry.dn, password)
            except ldap.INVALID_CREDENTIALS:
                return False
            return True

        return entry if self._guard(self._bind_pool, bind) else None

    def find(self, username: str) -> Entry | None:
        """The one entry whose user name is *username* (the value is escaped), else ``None``."""
        attr = self.config.username_attribute
        flt = f"(&{self.config.user_filter}({attr}={ldap.filter.escape_filter_chars(username)}))"
        entries = self._search(self.config.base_dn, ldap.SCOPE_SUBTREE, flt)
        if len(entries) != 1:
            if len(entries) > 1:
                log.warning("LDAP: %d entries for user name %r; refusing", len(entries), username)
            return None
        entry = entries[0]
        # The directory matches case-insensitively; the portal's user name is the stored one.
        stored = entry.first(attr)
        return entry if stored is not None and stored.lower() == username.lower() else None

    # -- whole directory (``portal ldap sync``) -------------------------------------------------

    def people(self) -> list[Entry]:
        return self._search(self.config.base_dn, ldap.SCOPE_SUBTREE, self.config.user_filter)

    def units(self) -> list[Entry]:
        if not self.config.units_dn:
            return []
        return self._search(self.config.units_dn, ldap.SCOPE_SUBTREE,
                            "(objectClass=organizationalUnit)")

    def ping(self) -> None:
        """Raise ``DirectoryUnavailable`` unless the service account can read the base entry."""
        self._search(self.config.base_dn, ldap.SCOPE_BASE, "(objectClass=*)")

    def close(self) -> None:
        self._search_pool.close()
        self._bind_pool.close()

    # -- plumbing ------------------------------------------------------------------------------

    def _search(self, base: str, scope: int, flt: str) -> list[Entry]:
        timeout = self.config.timeout

        def paged(conn: LDAPObject) -> list[Entry]:
            page = SimplePagedResultsControl(True, size=PAGE_SIZE, cookie="")
            found: list[Entry] = []
            while True:
                msgid = conn.search_ext(base, scope, flt, ["*", "memberOf"],
                                        serverctrls=[page], timeout=timeout)
                _type, data, _msgid, controls = conn.result3(msgid, timeout=timeout)
                found += [_entry(dn, attrs) for dn, attrs in data if dn]
                cookie = next((c.cookie for c in controls
                               if c.controlType == SimplePagedResultsControl.controlType), b"")
                if not cookie:
                    return found
                page.cookie = cookie

        def run(conn: LDAPObject) -> list[Entry]:
            try:
                return paged(conn)
            except ldap.NO_SUCH_OBJECT:
                return []

        return self._guard(self._search_pool, run)

    def _guard(self, pool: ConnectionPool, work: Callable[[LDAPObject], T]) -> T:
        try:
            return pool.run(work)
        except UNAVAILABLE as exc:
            raise DirectoryUnavailable(f"LDAP {self.config.url}: {_describe(exc)}") from None
        except ldap.INVALID_CREDENTIALS:
            # Only the service account's bind gets here (people's binds are caught above).
            raise DirectoryUnavailable(
                f"LDAP {self.config.url}: the service account {self.config.bind_dn!r} was "
                "refused (check LDAP_BIND_DN / LDAP_BIND_PASSWORD)") from None
        except ldap.LDAPError as exc:
            raise DirectoryUnavailable(f"LDAP {self.config.url}: {_describe(exc)}") from None


def _describe(exc: Exception) -> str:
    info = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    parts = [str(info.get("desc") or type(exc).__name__)]
    if info.get("info"):
        parts.append(str(info["info"]))
    return ": ".join(parts)

