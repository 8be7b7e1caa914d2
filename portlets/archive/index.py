"""The full-text index and its search, one code path for both databases: FTS5 on SQLite, a
``tsvector`` with a GIN index on PostgreSQL (built from the same jieba tokens, so no database
parser has to understand Chinese).

Ranking: title words weigh ten times body words (bm25 column weights on SQLite, weights A/B
with ``ts_rank`` on PostgreSQL). To keep a very common word fast over a large archive, only the
``CANDIDATES`` newest matching records (after the filters and the visibility rule) are ranked,
in the database, and counted ("500+" beyond). On PostgreSQL the newest-first walk checks each
row's ``tsv_match`` (the lexemes without positions, generated from ``tsv`` and kept inline in
the row, so a check needs no TOAST read; the planner takes its GIN index instead when a word is
rare), and only the candidates' ``tsv`` (positions and weights) is read, by ``ts_rank``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from markupsafe import Markup
from sqlalchemy import (
    Boolean,
    ColumnElement,
    bindparam,
    cast,
    column,
    func,
    literal,
    literal_column,
    select,
    table,
    text,
    true,
)
from sqlalchemy.dialects.postgresql import TSQUERY
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.visitors import InternalTraversal

from portal.toolkit import excerpt
from portlets.archive import segment
from portlets.archive.models import ArchiveAccess, ArchiveRecord

CANDIDATES = 500
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
    first. An empty *query* lists the newest records instead.

    The newest ``CANDIDATES`` matches (after the filters) are ranked in the database and only
    the page's ids come back; then the page's records are read.
    """
    where = where if where is not None else true()
    words = segment.query_words(query) if query else []
    if query and not words:
        return Page([], 0, False, [])
    if not words:
        base = select(ArchiveRecord.id).where(where)
        total = session.scalar(select(func.count()).select_from(
            base.limit(CANDIDATES + 1).subquery())) or 0
        rows = session.scalars(select(ArchiveRecord).where(where)
                               .order_by(ArchiveRecord.id.desc()).limit(limit).offset(offset))
        return Page([Hit(r, 0.0) for r in rows], min(total, CANDIDATES), total > CANDIDATES, [])
    pg = _dialect(session) == "postgresql"
    expression = _match_expression(words, "postgresql" if pg else "sqlite")
    if pg:
        # The query goes into the statement as a literal, not as a parameter: psycopg
        # prepares a statement run five times, and PostgreSQL's generic plan for a tsquery
        # parameter assumes a rare word (500 rows), so a common word then took the GIN
        # bitmap of all its 60,000 matches (660 ms instead of 10). The expression holds only
        # quoted word tokens (``segment``), and the literal is escaped anyway.
        tsq = cast(bindparam("tsq", expression, literal_execute=True), TSQUERY)
        tsv = literal_column("archive_record.tsv")
        # The newest matches first (ids only), checked against the stripped, inline
        # ``tsv_match``; then ts_rank of those with ``tsv`` (positions, weights, in TOAST),
        # which must not be read for every match.
        match = literal_column("archive_record.tsv_match").op("@@")(tsq)
        candidates = (select(ArchiveRecord.id).where(match, where)
                      .order_by(ArchiveRecord.id.desc()).limit(CANDIDATES).subquery())
        rank = func.ts_rank(tsv, tsq)
        ranked = [(r.id, r.rank, r.total) for r in session.execute(
            select(ArchiveRecord.id, rank.label("rank"), func.count().over().label("total"))
            .join(candidates, candidates.c.id == ArchiveRecord.id)
            .order_by(rank.desc(), ArchiveRecord.id.desc()).limit(limit).offset(offset))]
    else:
        ranked = _sqlite_ranked(session, expression, where, limit, offset)
    total = ranked[0][2] if ranked else 0
    records = {r.id: r for r in session.scalars(
        select(ArchiveRecord).where(ArchiveRecord.id.in_([r[0] for r in ranked])))}
    hits = [Hit(records[i], float(rank or 0.0)) for i, rank, _ in ranked if i in records]
    return Page(hits, total, total >= CANDIDATES, [w for w, _ in words])


def _sqlite_ranked(session: Session, expression: str, where: ColumnElement[bool], limit: int,
                   offset: int) -> list[Any]:
    """The page's (id, rank, candidates) on SQLite.

    ``CROSS JOIN`` keeps the full-text table outside: FTS5 walks its matches newest first and
    stops at ``CANDIDATES``; bm25 (lower is better, so negated) is computed by SQLite for those
    only, and only the page comes back to Python. With a plain join the planner may walk a
    filter's index (year, category) and run the whole MATCH once per row: two seconds
    instead of a few milliseconds over 100,000 records. The filters are inlined as literals
    (ints and checked codes), since the statement is text.
    """
    # Compiled inside a SELECT of archive_record, so that a correlated subquery (visibility)
    # stays correlated; the text after the outer WHERE is the condition.
    compiled = str(select(ArchiveRecord.id).where(where).compile(
        dialect=session.get_bind().dialect, compile_kwargs={"literal_binds": True}))
    condition = compiled.split(" \nWHERE ", 1)[1] if " \nWHERE " in compiled else "1"
    condition = condition.replace(":", "\\:")
    return [tuple(r) for r in session.execute(text(
        "SELECT id, rank, count(*) OVER () FROM ("
        "SELECT archive_fts.rowid AS id, -bm25(archive_fts, 10.0, 1.0) AS rank "
        "FROM archive_fts CROSS JOIN archive_record "
        "WHERE archive_fts MATCH :m AND archive_record.id = archive_fts.rowid "
        f"AND ({condition}) ORDER BY archive_fts.rowid DESC LIMIT :n"
        ") ORDER BY rank DESC, id DESC LIMIT :limit OFFSET :offset"),
        {"m": expression, "n": CANDIDATES, "limit": limit, "offset": offset})]


def visible_to(unit_ids: list[int] | None) -> ColumnElement[bool]:
    """Records shared with one of *unit_ids*; ``None`` means every record (admins).

    The same rule in two forms, chosen when the statement is compiled for its database
    (``_Visible``): on PostgreSQL an overlap test of the row's ``units`` (the copy of its
    access rows that the database's triggers keep, migration ``archive_0003``); elsewhere a
    probe of ``archive_access``."""
    if unit_ids is None:
        return true()
    if not unit_ids:
        return ArchiveRecord.id.is_(None)
    return _Visible(tuple(sorted({int(u) for u in unit_ids})))


class _Visible(ColumnElement[bool]):
    """``visible_to`` for a non-empty list of unit ids, compiled per database below."""

    # The unit ids are part of the compiled text on PostgreSQL, so they are part of the
    # statement's cache key: two scopes never share a compiled statement.
    _traverse_internals = [("unit_ids", InternalTraversal.dp_plain_obj)]
    type = Boolean()
    # Both forms are complete conditions: no "= 1" appended where booleans are not native.
    _is_implicitly_boolean = True

    def __init__(self, unit_ids: tuple[int, ...]) -> None:
        self.unit_ids = unit_ids


@compiles(_Visible)
def _visible_by_probe(element: _Visible, compiler: Any, **kw: Any) -> str:
    # A probe of the record's own (one to three) access rows by primary key, written as a
    # scalar subquery with LIMIT 1: PostgreSQL turns an EXISTS into a hash semi-join that
    # first reads every access row of those units (80,000 of 100,000: 100 ms) although the
    # search needs a few hundred records (the same trick as collaboration's ``involves``).
    probe = select(literal(1)).where(
        ArchiveAccess.record_id == ArchiveRecord.id, ArchiveAccess.unit_id.in_(element.unit_ids)
    ).correlate(ArchiveRecord).limit(1).scalar_subquery().is_not(None)
    return str(compiler.process(probe, **kw))


@compiles(_Visible, "postgresql")
def _visible_by_units(element: _Visible, compiler: Any, **kw: Any) -> str:
    # The ids are ints (checked in visible_to), written as a literal array: as a parameter,
    # the plan psycopg prepares after five runs would guess the share of visible records
    # instead of reading it from the column's statistics.
    ids = ",".join(str(int(u)) for u in element.unit_ids)
    return f"(archive_record.units && '{{{ids}}}'::integer[])"


def snippet(body: str, words: list[str], width: int = SNIPPET_CHARS) -> Markup:
    """A piece of *body* around the first matched word, every matched word in ``<mark>``."""
    return excerpt(body, words, width)
