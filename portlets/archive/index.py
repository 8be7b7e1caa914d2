"""The full-text index and its search, one code path for both databases: FTS5 on SQLite, a
``tsvector`` with a GIN index on PostgreSQL (built from the same jieba tokens, so no database
parser has to understand Chinese).

Ranking: title words weigh ten times body words (bm25 column weights on SQLite, weights A/B
with ``ts_rank`` on PostgreSQL). To keep a very common word fast over a large archive, only the
``CANDIDATES`` newest matching records (after the filters and the visibility rule) are ranked;
the count says "more than" beyond ``COUNT_CAP``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import (
    ColumnElement,
    bindparam,
    cast,
    column,
    func,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.orm import Session

from portal.toolkit import excerpt
from portlets.archive import segment
from portlets.archive.models import ArchiveAccess, ArchiveRecord

CANDIDATES = 2000
COUNT_CAP = 1000
SNIPPET_CHARS = 90

_fts = table("archive_fts", column("rowid"), column("title"), column("body"))


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def write(session: Session, record: ArchiveRecord) -> None:
    """(Re)index *record*; call after it has an id, in the same transaction."""
    title, body = segment.index_text(record.title), segment.index_text(
        f"{record.number} {record.issuer} {record.body}")
    if _dialect(session) == "postgresql":
        session.execute(text(
            "UPDATE archive_record SET tsv = setweight(to_tsvector('simple', :t), 'A') "
            "|| setweight(to_tsvector('simple', :b), 'B') WHERE id = :id"),
            {"t": title, "b": body, "id": record.id})
    else:
        session.execute(text("DELETE FROM archive_fts WHERE rowid = :id"), {"id": record.id})
        session.execute(text("INSERT INTO archive_fts (rowid, title, body) VALUES (:id, :t, :b)"),
                        {"id": record.id, "t": title, "b": body})


def remove(session: Session, record_id: int) -> None:
    if _dialect(session) != "postgresql":
        session.execute(text("DELETE FROM archive_fts WHERE rowid = :id"), {"id": record_id})


def _match_expression(words: list[tuple[str, list[str]]], dialect: str) -> str:
    """All words must match; a word matches itself or all of its sub-words. Tokens hold only
    word characters (``segment``), so quoting them is enough."""
    if dialect == "postgresql":
        def q(t: str) -> str:
            return f"'{t}'"
        alt, both, every = " | ", " & ", " & "
    else:
        def q(t: str) -> str:
            return f'"{t}"'
        alt, both, every = " OR ", " AND ", " AND "
    terms = []
    for word, parts in words:
        if parts:
            terms.append(f"({q(word)}{alt}({both.join(q(p) for p in parts)}))")
        else:
            terms.append(q(word))
    return every.join(terms)


@dataclass
class Hit:
    record: Any
    rank: float


@dataclass
class Page:
    hits: list[Hit]
    total: int
    capped: bool
    words: list[str]


def search(session: Session, query: str, where: ColumnElement[bool] | None = None,
           limit: int = 20, offset: int = 0) -> Page:
    """Records matching every word of *query* and *where* (filters and visibility), best
    first. An empty *query* lists the newest records instead."""
    where = where if where is not None else true()
    words = segment.query_words(query) if query else []
    if query and not words:
        return Page([], 0, False, [])
    dialect = _dialect(session)
    if not words:
        base = select(ArchiveRecord.id).where(where)
        total = session.scalar(select(func.count()).select_from(
            base.limit(COUNT_CAP + 1).subquery())) or 0
        rows = session.scalars(select(ArchiveRecord).where(where)
                               .order_by(ArchiveRecord.id.desc()).limit(limit).offset(offset))
        return Page([Hit(r, 0.0) for r in rows], min(total, COUNT_CAP), total > COUNT_CAP, [])
    expression = _match_expression(words, dialect)
    if dialect == "postgresql":
        tsq = cast(bindparam("tsq"), TSQUERY)
        tsv = literal_column("archive_record.tsv")
        matched = select(ArchiveRecord.id).where(tsv.op("@@")(tsq), where)
        rank_of = func.ts_rank(tsv, tsq)
        candidates = matched.order_by(ArchiveRecord.id.desc()).limit(CANDIDATES).subquery()
        ranked = (select(ArchiveRecord, rank_of.label("rank"))
                  .join(candidates, candidates.c.id == ArchiveRecord.id)
                  .order_by(rank_of.desc(), ArchiveRecord.id.desc()))
        params = {"tsq": expression}
    else:
        matched = (select(ArchiveRecord.id).join(_fts, _fts.c.rowid == ArchiveRecord.id)
                   .where(text("archive_fts MATCH :m"), where))
        candidates = matched.order_by(ArchiveRecord.id.desc()).limit(CANDIDATES).subquery()
        bm25 = literal_column("bm25(archive_fts, 10.0, 1.0)")
        # bm25 is lower for better matches; it needs the MATCH in the same query.
        ranked = (select(ArchiveRecord, (-bm25).label("rank"))
                  .join(_fts, _fts.c.rowid == ArchiveRecord.id)
                  .join(candidates, candidates.c.id == ArchiveRecord.id)
                  .where(text("archive_fts MATCH :m"))
                  .order_by(bm25, ArchiveRecord.id.desc()))
        params = {"m": expression}
    total = session.scalar(select(func.count()).select_from(
        matched.limit(COUNT_CAP + 1).subquery()), params) or 0
    rows = session.execute(ranked.limit(limit).offset(offset), params).all()
    return Page([Hit(r[0], float(r[1] or 0)) for r in rows], min(total, COUNT_CAP),
                total > COUNT_CAP, [w for w, _ in words])


def visible_to(unit_ids: list[int] | None) -> ColumnElement[bool]:
    """Records shared with one of *unit_ids*; ``None`` means every record (admins)."""
    if unit_ids is None:
        return true()
    if not unit_ids:
        return ArchiveRecord.id.is_(None)
    return ArchiveRecord.id.in_(select(ArchiveAccess.record_id)
                                .where(ArchiveAccess.unit_id.in_(unit_ids)))


def snippet(body: str, words: list[str], width: int = SNIPPET_CHARS) -> Markup:
    """A piece of *body* around the first matched word, every matched word in ``<mark>``."""
    return excerpt(body, words, width)
