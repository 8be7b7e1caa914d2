"""The portal's organisation as LDAP entries (``portal ldap export-ldif``).

The tests, ``make demo-ldap`` and the login benchmark load a private slapd with the demo
organisation written out by this module, so the directory and the database describe the same
people, units and posts. The layout (``dc=jxyc,dc=example`` for the demo)::

    ou=units     ou=<unit code> entries nested like the org tree (description: name,
                 businessCategory: kind)
    ou=people    uid=<user name> (inetOrgPerson: cn/displayName, mail, mobile,
                 departmentNumber: unit code, ou: unit name, title: post name)
    ou=groups    cn=<post name> (groupOfNames, description: post code); the memberOf overlay
                 gives people their memberOf values, which the provisioning rules read
    cn=portal-reader   the service account the portal searches with (when a password is given)
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
from collections import defaultdict

import ldif
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.toolkit import OrgUnit, Person, Post, PostAssignment

DEMO_BASE_DN = "dc=jxyc,dc=example"
READER_RDN = "cn=portal-reader"


def ssha(password: str) -> str:
    """``{SSHA}`` userPassword value: the directory never stores the demo password in clear."""
    salt = os.urandom(8)
    digest = hashlib.sha1(password.encode() + salt).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def export_ldif(db: Session, base_dn: str, password: str,
                reader_password: str | None = None) -> str:
    """LDIF for every active person, unit and post of *db*; every person gets *password*."""
    out = io.StringIO()
    writer = ldif.LDIFWriter(out, cols=1000)

    def add(dn: str, attrs: dict[str, list[str]]) -> None:
        writer.unparse(dn, {k: [v.encode() for v in vs if v] for k, vs in attrs.items()
                            if any(vs)})

    top = base_dn.split(",", 1)[0].split("=", 1)[1]
    add(base_dn, {"objectClass": ["top", "dcObject", "organization"], "dc": [top],
                  "o": ["嘉兴市烟草专卖局(公司)"]})
    for ou in ("units", "people", "groups"):
        add(f"ou={ou},{base_dn}", {"objectClass": ["organizationalUnit"], "ou": [ou]})
    if reader_password is not None:
        add(f"{READER_RDN},{base_dn}", {
            "objectClass": ["applicationProcess", "simpleSecurityObject"],
            "cn": [READER_RDN.split("=", 1)[1]], "userPassword": [ssha(reader_password)],
            "description": ["The portal's service account: searches, never writes."]})

    units = list(db.scalars(select(OrgUnit).order_by(OrgUnit.path)))
    unit_dn: dict[int, str] = {}
    for unit in units:  # ordered by path: a parent comes before its children
        parent = unit_dn.get(unit.parent_id or -1, f"ou=units,{base_dn}")
        unit_dn[unit.id] = f"ou={ldif_escape_rdn(unit.code)},{parent}"
        add(unit_dn[unit.id], {"objectClass": ["organizationalUnit"], "ou": [unit.code],
                               "description": [unit.name], "businessCategory": [unit.kind]})
    by_id = {u.id: u for u in units}

    posts = {p.id: p for p in db.scalars(select(Post))}
    held: dict[int, list[Post]] = defaultdict(list)
    for a in db.scalars(select(PostAssignment)):
        held[a.person_id].append(posts[a.post_id])
    members: dict[int, list[str]] = defaultdict(list)
    hashed = ssha(password)
    for person in db.scalars(select(Person).where(Person.active.is_(True)).order_by(Person.id)):
        dn = f"uid={ldif_escape_rdn(person.username)},ou=people,{base_dn}"
        home = by_id.get(person.org_unit_id or -1)
        name = person.display_name or person.username
        add(dn, {
            "objectClass": ["inetOrgPerson"], "uid": [person.username], "cn": [name],
            "sn": [name[:1]], "displayName": [name], "mail": [person.email or ""],
            "mobile": [person.mobile or ""], "departmentNumber": [home.code if home else ""],
            "ou": [home.name if home else ""], "title": [p.name for p in held[person.id]],
            "userPassword": [hashed]})
        for post in held[person.id]:
            members[post.id].append(dn)
    for post_id, dns in sorted(members.items()):
        post = posts[post_id]
        add(f"cn={ldif_escape_rdn(post.name)},ou=groups,{base_dn}", {
            "objectClass": ["groupOfNames"], "cn": [post.name], "description": [post.code],
            "member": dns})
    return out.getvalue()


def ldif_escape_rdn(value: str) -> str:
    """Escape an RDN value (RFC 4514): ``,+"\\<>;=`` and leading ``#``/space, trailing space."""
    from ldap.dn import escape_dn_chars

    return str(escape_dn_chars(value))
