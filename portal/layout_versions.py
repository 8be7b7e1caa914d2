"""Published versions of the post layouts: publish, history, readable differences, import.

Files under ``layouts/`` are where layouts are written by hand and reviewed in git; the admin
editor is where they are changed in the browser. Both end here, as a new version in
``layout_version``: the newest version of a post is what its users get, and every user's own
diff is applied on top of it (``portal.personal``). A post with no published version is served
from its file (version 0), so a fresh installation needs no step at all.

Nothing is published that does not pass the same check as a file (``layout_check``), so a
mistake is refused with its line and the users keep the last good version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from flask import current_app
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.layout import PostLayout, dump_yaml, parse_document, to_document
from portal.layout_check import Problem, check_text
from portal.models import LayoutVersion
from portal.portlet import Portlet

COUNTER = "layouts"  # bumped on every publication: each node reloads the versions


class LayoutRejected(ValueError):
    """A document that cannot be published; ``problems`` say where and why."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(p) for p in problems))
        self.problems = problems


def check_document(document: Any, portlets: Mapping[str, Portlet] | None,
                   source: str = "<editor>") -> list[Problem]:
    """The problems of *document* as the file checker reports them (line numbers refer to
    its YAML export)."""
    if not isinstance(document, Mapping):
        return [Problem(source, 1, "the layout must be a mapping")]
    try:
        text = dump_yaml(document)
    except Exception as exc:  # yaml cannot represent it: a client sent something odd
        return [Problem(source, 1, f"cannot be written as YAML: {exc}")]
    return check_text(text, source, portlets)


def latest(session: Session) -> dict[str, LayoutVersion]:
    """The newest version of every post that has one."""
    newest = (select(LayoutVersion.post, func.max(LayoutVersion.version).label("v"))
              .group_by(LayoutVersion.post).subquery())
    rows = session.scalars(select(LayoutVersion).join(
        newest, (LayoutVersion.post == newest.c.post) & (LayoutVersion.version == newest.c.v)))
    return {row.post: row for row in rows}


def publish(session: Session, document: Mapping[str, Any], *, source: str, author: str,
            note: str = "", file_sha: str | None = None,
            portlets: Mapping[str, Portlet] | None = None) -> LayoutVersion:
    """Add *document* as the post's next version (the caller commits, then ``announce``)."""
    problems = check_document(document, portlets, f"<{source}>")
    if problems:
        raise LayoutRejected(problems)
    post = str(document["post"])
    current = session.scalar(select(func.max(LayoutVersion.version)).where(
        LayoutVersion.post == post)) or 0
    row = LayoutVersion(post=post, version=current + 1, document=dict(document),
                        source=source, author=author[:64], note=note[:200], file_sha=file_sha)
    session.add(row)
    session.flush()
    return row


def announce() -> None:
    """After the commit: every node (and every user's page) picks up the new versions."""
    current_app.extensions["portal"].cache.bump(COUNTER)


def effective_layouts(session: Session) -> dict[str, PostLayout]:
    """File layouts overlaid by the newest published versions; kept per process until the
    next publication anywhere."""
    state = current_app.extensions["portal"]
    stamp = (state.cache.version(COUNTER), id(state.layouts))
    cached = state.published
    if cached is not None and cached[0] == stamp:
        return cached[1]
    layouts = dict(state.layouts)
    for post, row in latest(session).items():
        layouts[post] = parse_document(row.document, source=f"version {row.version}",
                                       version=row.version)
    state.published = (stamp, layouts)
    return layouts


def history(session: Session, post: str) -> list[LayoutVersion]:
    return list(session.scalars(select(LayoutVersion).where(LayoutVersion.post == post)
                                .order_by(LayoutVersion.version.desc())))


def get_version(session: Session, post: str, version: int) -> LayoutVersion | None:
    return session.scalars(select(LayoutVersion).where(
        LayoutVersion.post == post, LayoutVersion.version == version)).first()


def file_sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class ImportResult:
    published: list[LayoutVersion]
    unchanged: list[str]
    problems: list[Problem]


def import_files(session: Session, files: list[Path], portlets: Mapping[str, Portlet] | None,
                 author: str) -> ImportResult:
    """Publish each layout file whose content is not yet the post's newest version.

    All files are checked first; if any has a problem nothing is published, so a half-imported
    set of layouts never reaches users.
    """
    docs: list[tuple[dict[str, Any], str]] = []
    problems: list[Problem] = []
    for path in files:
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            problems.append(Problem(str(path), 1, f"cannot be read: {exc}"))
            continue
        found = check_text(text, str(path), portlets)
        if found:
            problems += found
            continue
        docs.append((yaml.safe_load(text), file_sha(text)))
    if problems:
        return ImportResult([], [], problems)
    newest = latest(session)
    published, unchanged = [], []
    for doc, sha in docs:
        row = newest.get(str(doc["post"]))
        if row is not None and (row.file_sha == sha or _same(row.document, doc)):
            unchanged.append(str(doc["post"]))
            continue
        published.append(publish(session, doc, source="file", author=author,
                                 note="imported from file", file_sha=sha, portlets=portlets))
    return ImportResult(published, unchanged, [])


def _same(a: Mapping[str, Any], b: Mapping[str, Any]) -> bool:
    """Equal as layouts (a file and the editor may spell the same layout differently)."""
    return to_document(parse_document(a)) == to_document(parse_document(b))


def describe_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> list[str]:
    """What changed between two versions, one line per change, for people (zh first)."""
    from flask_babel import gettext as _

    before = _windows(old) if old else {}
    after = _windows(new)
    lines: list[str] = []
    old_pages = {p["id"]: p for p in (old or {}).get("pages") or []}
    new_pages = {p["id"]: p for p in new.get("pages") or []}
    for pid in new_pages.keys() - old_pages.keys():
        lines.append(_("Page added: %(title)s", title=new_pages[pid].get("title", pid)))
    for pid in old_pages.keys() - new_pages.keys():
        lines.append(_("Page removed: %(title)s", title=old_pages[pid].get("title", pid)))
    for pid in sorted(new_pages.keys() & old_pages.keys()):
        o, n = old_pages[pid], new_pages[pid]
        if o.get("title") != n.get("title"):
            lines.append(_("Page %(old)s renamed to %(new)s", old=o.get("title"),
                           new=n.get("title")))
        if bool(o.get("locked")) != bool(n.get("locked")):
            lines.append(_("Page %(title)s locked", title=n.get("title")) if n.get("locked")
                         else _("Page %(title)s unlocked", title=n.get("title")))
    for key in sorted(after.keys() - before.keys()):
        lines.append(_("Window added: %(w)s", w=_label(key, after[key])))
    for key in sorted(before.keys() - after.keys()):
        lines.append(_("Window removed: %(w)s", w=_label(key, before[key])))
    for key in sorted(after.keys() & before.keys()):
        o, n = before[key], after[key]
        if (o["x"], o["y"]) != (n["x"], n["y"]):
            lines.append(_("%(w)s moved from (%(ox)s, %(oy)s) to (%(nx)s, %(ny)s)",
                           w=_label(key, n), ox=o["x"], oy=o["y"], nx=n["x"], ny=n["y"]))
        if (o["w"], o["h"]) != (n["w"], n["h"]):
            lines.append(_("%(w)s resized from %(ow)s×%(oh)s to %(nw)s×%(nh)s",
                           w=_label(key, n), ow=o["w"], oh=o["h"], nw=n["w"], nh=n["h"]))
        if _locks(o) != _locks(n):
            lines.append(_("%(w)s locks: %(old)s → %(new)s", w=_label(key, n),
                           old=_locks(o) or "-", new=_locks(n) or "-"))
        if (o.get("preferences") or {}) != (n.get("preferences") or {}):
            lines.append(_("%(w)s settings changed", w=_label(key, n)))
    return lines


def _windows(doc: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{p['id']}/{w['id']}": w for p in doc.get("pages") or []
            for w in p.get("windows") or []}


def _label(key: str, window: Mapping[str, Any]) -> str:
    return f"{key} ({window.get('portlet')})"


def _locks(window: Mapping[str, Any]) -> str:
    lock = window.get("lock") or {}
    if lock is True:
        lock = {"move": True, "remove": True, "edit": True}
    return ",".join(k for k in ("move", "remove", "edit") if lock.get(k))
