"""Creating and updating the portal's person from what a directory says about them.

Every backend that can sign in someone the portal has never seen (LDAP, a certificate looked up
in the directory, an upstream OpenID Connect provider) ends here, so that a person looks the
same whichever door they came through, and "posts follow directory groups" is one set of rules.

The API is two calls::

    rules = ProvisioningRules.load("rules.yaml")      # or ProvisioningRules.from_mapping({...})
    person = provision(db, attributes, rules)         # created or updated, not committed

*attributes* are the source's attributes as ``{name: value or [values]}``; names are matched
case-insensitively (LDAP's are case-insensitive). Which name holds the user name, the e-mail
address, the groups... is part of the rules (``attributes:`` section), so an OIDC backend maps
``preferred_username``/``email``/``groups`` with the same code. The caller commits.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml
from sqlalchemy import BindParameter, Select, select
from sqlalchemy.orm import Session, joinedload

from portal.toolkit import OrgUnit, Person, Post, PostAssignment

log = logging.getLogger(__name__)

#: What the person table can hold; a longer directory value is refused or cut (display name).
MAX_USERNAME, MAX_NAME, MAX_EMAIL, MAX_MOBILE = 64, 64, 120, 20

Attributes = Mapping[str, "str | bytes | Sequence[str | bytes]"]
Outcome = Literal["created", "updated", "unchanged"]


class ProvisioningError(ValueError):
    """The rules file is invalid, or the attributes cannot make a person (no user name)."""


def _normalise_dn(value: str) -> str:
    """DNs compare case-insensitively and without spaces around the separators."""
    return ",".join(part.strip().lower() for part in value.split(","))


def _first_rdn_value(dn: str) -> str:
    first = dn.split(",", 1)[0]
    return first.split("=", 1)[1].strip() if "=" in first else first.strip()


@dataclass(frozen=True)
class PostRule:
    """One rule: *when* a condition holds, the person holds *post* (and heads their unit when
    *manages*). Conditions: member of the group with full DN ``member_of``, or of any group
    whose first RDN value (its cn) is ``group``, or attribute ``attribute`` equal to
    ``equals`` (or merely present when ``equals`` is not given)."""

    post: str
    member_of: str | None = None
    group: str | None = None
    attribute: str | None = None
    equals: str | None = None
    manages: bool = False

    def matches(self, attrs: _Attrs, groups_attribute: str) -> bool:
        if self.member_of is not None:
            wanted = _normalise_dn(self.member_of)
            return any(_normalise_dn(g) == wanted for g in attrs.all(groups_attribute))
        if self.group is not None:
            wanted = self.group.strip().lower()
            return any(_first_rdn_value(g).lower() == wanted
                       for g in attrs.all(groups_attribute))
        if self.attribute is not None:
            values = attrs.all(self.attribute)
            if self.equals is None:
                return bool(values)
            return any(v.strip().lower() == self.equals.strip().lower() for v in values)
        return False


@dataclass(frozen=True)
class ProvisioningRules:
    """Which source attribute holds what, and which posts the groups and attributes give."""

    username: str = "uid"
    display_name: str = "displayName"
    fallback_name: str = "cn"
    email: str = "mail"
    mobile: str = "mobile"
    unit_code: str = "departmentNumber"
    unit_name: str = "ou"
    groups: str = "memberOf"
    posts: tuple[PostRule, ...] = field(default=())

    @property
    def managed_posts(self) -> frozenset[str]:
        """Posts the rules decide: assignments of these follow the directory; others (given
        in the portal by hand) are left alone."""
        return frozenset(rule.post for rule in self.posts)

    def posts_for(self, attributes: Attributes) -> dict[str, bool]:
        """Post code -> manages, for every rule that matches."""
        attrs = _Attrs(attributes)
        out: dict[str, bool] = {}
        for rule in self.posts:
            if rule.matches(attrs, self.groups):
                out[rule.post] = out.get(rule.post, False) or rule.manages
        return out

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> ProvisioningRules:
        """Rules from parsed YAML/JSON: ``{"attributes": {...}, "posts": [{...}, ...]}``."""
        if not isinstance(data, Mapping):
            raise ProvisioningError("the rules must be a mapping with 'attributes' and 'posts'")
        unknown = set(data) - {"attributes", "posts"}
        if unknown:
            raise ProvisioningError(f"unknown section(s): {', '.join(sorted(unknown))}")
        names = data.get("attributes") or {}
        allowed = {f.name for f in fields(cls)} - {"posts"}
        if not isinstance(names, Mapping) or set(names) - allowed:
            raise ProvisioningError(
                f"'attributes' may only name: {', '.join(sorted(allowed))}")
        rules = []
        for i, raw in enumerate(data.get("posts") or [], 1):
            rules.append(_post_rule(i, raw))
        return cls(**{k: str(v) for k, v in names.items()}, posts=tuple(rules))

    @classmethod
    def load(cls, path: str | Path) -> ProvisioningRules:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise ProvisioningError(f"cannot read rules file {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ProvisioningError(f"{path} is not valid YAML: {exc}") from None
        try:
            return cls.from_mapping(data)
        except ProvisioningError as exc:
            raise ProvisioningError(f"{path}: {exc}") from None


def _post_rule(index: int, raw: Any) -> PostRule:
    keys = {"post", "memberOf", "group", "attribute", "equals", "manages"}
    if not isinstance(raw, Mapping) or not raw.get("post") or set(raw) - keys:
        raise ProvisioningError(
            f"post rule {index}: expected 'post' and one of memberOf, group, attribute "
            f"(with optional equals, manages), got {raw!r}")
    conditions = [k for k in ("memberOf", "group", "attribute") if raw.get(k)]
    if len(conditions) != 1:
        raise ProvisioningError(
            f"post rule {index}: give exactly one of memberOf, group, attribute")
    return PostRule(post=str(raw["post"]), member_of=raw.get("memberOf"), group=raw.get("group"),
                    attribute=raw.get("attribute"),
                    equals=None if raw.get("equals") is None else str(raw["equals"]),
                    manages=bool(raw.get("manages", False)))


class _Attrs:
    """Case-insensitive, always-a-list view of a source's attributes."""

    def __init__(self, attributes: Attributes) -> None:
        self._data: dict[str, list[str]] = {}
        for name, value in attributes.items():
            values = [value] if isinstance(value, (str, bytes)) else list(value)
            self._data[name.lower()] = [
                v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v) for v in values
            ]

    def all(self, name: str) -> list[str]:
        return self._data.get(name.lower(), [])

    def first(self, name: str) -> str | None:
        for value in self.all(name):
            if value.strip():
                return value.strip()
        return None


@dataclass(frozen=True)
class Provisioned:
    person: Person
    outcome: Outcome


def provision(db: Session, attributes: Attributes, rules: ProvisioningRules) -> Person:
    """The person *attributes* describe, created or brought up to date. Not committed.

    Updated: display name, e-mail, mobile, org unit (when the directory names one the portal
    knows) and the assignments of posts the rules manage. Never touched: the local password,
    the chosen language, ``active`` (deactivation is the sync's decision, not a sign-in's),
    assignments of posts no rule gives.
    """
    return provision_with_outcome(db, attributes, rules).person


def username_of(attributes: Attributes, rules: ProvisioningRules) -> str | None:
    """The user name *attributes* give under *rules*, if it is one the portal can store."""
    username = _Attrs(attributes).first(rules.username)
    return username if username and len(username) <= MAX_USERNAME else None


def person_query(username: str | BindParameter[str]) -> Select[Person]:
    """How provisioning reads a person: with their unit, assignments and posts in the same
    round trip (joined eager loads; read the result with ``.unique()``). A caller may add its
    own columns (the LDAP backend adds the person's directory link) and pass the person on;
    with a ``bindparam`` for *username* it can build the statement once and keep it (building
    one with its loader options costs more than running it)."""
    return select(Person).where(Person.username == username).options(
        joinedload(Person.org_unit),
        joinedload(Person.assignments).joinedload(PostAssignment.post))


def provision_with_outcome(db: Session, attributes: Attributes, rules: ProvisioningRules, *,
                           loaded: Person | None = None) -> Provisioned:
    """:func:`provision`, telling whether the person was created, changed or already right.

    *loaded* is the person's row when the caller has read it with :func:`person_query`
    already (sign-in does, in the query that also reads what the caller needs): no second
    query then. Ignored unless it carries the user name the attributes give.
    """
    attrs = _Attrs(attributes)
    username = attrs.first(rules.username)
    if not username or len(username) > MAX_USERNAME:
        raise ProvisioningError(
            f"attribute {rules.username!r} must hold a user name of 1-{MAX_USERNAME} characters")
    person = loaded if loaded is not None and loaded.username == username else None
    if person is None:
        # One query for the person, their unit and their posts: sign-in runs this every time.
        person = db.scalars(person_query(username)).unique().first()
    created = person is None
    if person is None:
        person = Person(username=username, display_name=username, password_hash=None)
        db.add(person)
    changed = _set_fields(db, person, attrs, rules)
    changed = _set_posts(db, person, rules.posts_for(attributes), rules) or changed
    outcome: Outcome = "created" if created else ("updated" if changed else "unchanged")
    return Provisioned(person, outcome)


def _set_fields(db: Session, person: Person, attrs: _Attrs, rules: ProvisioningRules) -> bool:
    name = attrs.first(rules.display_name) or attrs.first(rules.fallback_name) or person.username
    email = attrs.first(rules.email)
    mobile = attrs.first(rules.mobile)
    wanted: dict[str, object] = {
        "display_name": name[:MAX_NAME],
        "email": email if email and len(email) <= MAX_EMAIL else None,
        "mobile": mobile if mobile and len(mobile) <= MAX_MOBILE else None,
    }
    unit = _unit(db, person, attrs.first(rules.unit_code), attrs.first(rules.unit_name))
    if unit is not None:
        wanted["org_unit_id"] = unit.id
    elif attrs.first(rules.unit_code) or attrs.first(rules.unit_name):
        log.warning("directory names an org unit the portal does not know for %s: %s / %s",
                    person.username, attrs.first(rules.unit_code), attrs.first(rules.unit_name))
    changed = False
    for key, value in wanted.items():
        if getattr(person, key) != value:
            setattr(person, key, value)
            changed = True
    return changed


def _unit(db: Session, person: Person, code: str | None, name: str | None) -> OrgUnit | None:
    current = person.org_unit if person.org_unit_id is not None else None
    if current is not None and ((code and current.code == code) or (not code and name and
                                                                   current.name == name)):
        return current
    if code:
        unit = db.scalars(select(OrgUnit).where(OrgUnit.code == code)).first()
        if unit is not None:
            return unit
    if name:
        return db.scalars(select(OrgUnit).where(OrgUnit.name == name).order_by(OrgUnit.id)).first()
    return None


def _set_posts(db: Session, person: Person, wanted: dict[str, bool],
               rules: ProvisioningRules) -> bool:
    managed = rules.managed_posts
    if not managed:
        return False
    mine = [a for a in person.assignments if a.post is not None and a.post.code in managed]
    if sorted(a.post.code for a in mine) == sorted(wanted) and all(
            a.manages == wanted[a.post.code] and a.org_unit_id == person.org_unit_id
            for a in mine):
        return False  # the usual sign-in: nothing to change, no query
    posts = {p.code: p for p in db.scalars(select(Post).where(Post.code.in_(managed)))}
    for code in set(wanted) - set(posts):
        log.warning("rules give post %r, which the portal does not have; ignored", code)
    changed = False
    held: dict[str, PostAssignment] = {}
    for assignment in list(person.assignments):
        code = assignment.post.code if assignment.post is not None else None
        if code not in managed:
            continue
        if code not in wanted or code in held:
            person.assignments.remove(assignment)
            changed = True
            continue
        held[code] = assignment
    for code, manages in wanted.items():
        post = posts.get(code)
        if post is None:
            continue
        current = held.get(code)
        if current is None:
            person.assignments.append(PostAssignment(post=post, org_unit_id=person.org_unit_id,
                                                     manages=manages))
            changed = True
        elif current.manages != manages or current.org_unit_id != person.org_unit_id:
            current.manages, current.org_unit_id = manages, person.org_unit_id
            changed = True
    return changed
