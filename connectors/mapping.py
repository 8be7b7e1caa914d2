"""Field mappings declared per source in YAML (``connectors/mappings/*.yaml``), not in code.

A source lists its streams; a stream says where its rows come from, which column is its change
position, how a row finds its customer, which customer fields it feeds (only those: a field left
out is not synced, 只同步部分字段), which history record it makes, and which domain event it
raises. Converting a row either gives clean values or raises ``Malformed`` with the reason the
row is quarantined for.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import yaml

BUILTIN_DIR = Path(__file__).parent / "mappings"
#: Customer columns a source may feed (the merged record's fields).
CUSTOMER_FIELDS = frozenset({
    "name", "operator_name", "address", "business_format", "market_type", "grade",
    "credit_level", "phone", "status", "license_valid_to", "inspection_route", "sales_route",
    "delivery_route", "inspector_id", "account_manager_id", "deliveryman_id",
})
RECORD_KINDS = frozenset({"license_event", "case", "purchase", "delivery"})
MATCH_FIELDS = frozenset({"license_no", "customer_code"})
TYPES = frozenset({"str", "int", "float", "date", "grade", "person", "org_unit"})


class MappingError(ValueError):
    """A mapping file is wrong; the message names the file and the place."""


class Malformed(ValueError):
    """A source row that cannot be taken; the message is the quarantine reason."""


@dataclass(frozen=True)
class FieldSpec:
    """One target field read from one source column, converted by ``type`` or by ``codes``."""

    name: str
    column: str
    type: str = "str"
    format: str = "%Y-%m-%d"
    codes: Mapping[str, Any] | None = None
    required: bool = False
    #: False: the value is kept per source (for the unified view's conflicts) but does not
    #: change the merged customer record; another source owns that field.
    owner: bool = True

    def raw(self, row: Mapping[str, Any]) -> Any:
        value = row.get(self.column)
        if isinstance(value, str):
            value = value.strip()
        if value in (None, ""):
            if self.required:
                raise Malformed(f"missing {self.column}")
            return None
        return value

    def convert(self, row: Mapping[str, Any], lookups: Lookups) -> Any:
        value = self.raw(row)
        if value is None:
            return None
        if self.codes is not None:
            key = str(value)
            if key not in self.codes:
                raise Malformed(f"unknown code {key!r} in {self.column}")
            return self.codes[key]
        try:
            return CONVERTERS[self.type](value, self, lookups)
        except Malformed:
            raise
        except (ValueError, TypeError, ArithmeticError):
            raise Malformed(f"bad {self.type} {value!r} in {self.column}") from None


@dataclass(frozen=True)
class StreamSpec:
    """One incremental feed of a source: a table (SQL) or a resource (REST)."""

    name: str
    resource: str
    position: str
    key: str
    match: FieldSpec
    fields: tuple[FieldSpec, ...] = ()
    record: str | None = None
    record_fields: tuple[FieldSpec, ...] = ()
    event: FieldSpec | None = None
    field_events: Mapping[str, str] = field(default_factory=dict)
    occurred: FieldSpec | None = None
    #: For reconciliation: where the current value of each customer lives (SQL table or REST
    #: resource) and its key column; the stream's own field columns are read from it.
    current: str | None = None
    current_key: str | None = None


@dataclass(frozen=True)
class SourceSpec:
    name: str
    title: str
    type: str  # sql | rest
    url: str
    streams: tuple[StreamSpec, ...]
    schedule_seconds: float = 10.0
    batch_size: int = 500
    timeout: float = 5.0
    retries: int = 3
    page_size: int = 200
    path: str = ""

    def stream(self, name: str) -> StreamSpec:
        for s in self.streams:
            if s.name == name:
                return s
        raise KeyError(name)


class Lookups:
    """Staff numbers and unit codes of the sources, resolved to portal ids (cached per run)."""

    def __init__(self, person: Callable[[str], int | None],
                 org_unit: Callable[[str], int | None]) -> None:
        self._person, self._org_unit = person, org_unit
        self._cache: dict[tuple[str, str], int | None] = {}

    def remember(self, kind: str, found: Mapping[str, int | None]) -> None:
        """Resolutions made in bulk beforehand (one query for a whole batch's staff codes
        instead of one per code); ``None`` marks a code known to be unknown."""
        for code, value in found.items():
            self._cache[(kind, code)] = value

    def person(self, code: str) -> int:
        return self._resolve("person", code, self._person)

    def org_unit(self, code: str) -> int:
        return self._resolve("org_unit", code, self._org_unit)

    def _resolve(self, kind: str, code: str, find: Callable[[str], int | None]) -> int:
        key = (kind, code)
        if key not in self._cache:
            self._cache[key] = find(code)
        found = self._cache[key]
        if found is None:
            raise Malformed(f"unknown {kind.replace('_', ' ')} code {code!r}")
        return found


def _date(value: Any, spec: FieldSpec, _l: Lookups) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    # The sources' usual formats without ``strptime`` (a third of a sync batch's conversion
    # time); anything else, or a bad value, through it.
    if spec.format == "%Y%m%d" and len(text) == 8 and text.isdigit():
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    if spec.format == "%Y-%m-%d" and len(text) == 10 and text[4] == text[7] == "-":
        with contextlib.suppress(ValueError):
            return date.fromisoformat(text)
    return datetime.strptime(text, spec.format).date()


def _grade(value: Any, _s: FieldSpec, _l: Lookups) -> int:
    text = str(value).upper()
    number = int(text[1:]) if text.startswith("D") else int(text)
    if not 1 <= number <= 30:
        raise Malformed(f"grade {value!r} is not D1–D30")
    return number


CONVERTERS: dict[str, Callable[[Any, FieldSpec, Lookups], Any]] = {
    "str": lambda v, _s, _l: str(v)[:200],
    "int": lambda v, _s, _l: int(v),
    "float": lambda v, _s, _l: float(v),
    "date": _date,
    "grade": _grade,
    "person": lambda v, _s, lookups: lookups.person(str(v)),
    "org_unit": lambda v, _s, lookups: lookups.org_unit(str(v)),
}


# ----------------------------------------------------------------------------- loading


def _field(where: str, name: str, raw: Any) -> FieldSpec:
    if isinstance(raw, str):
        raw = {"column": raw}
    if not isinstance(raw, Mapping) or "column" not in raw:
        raise MappingError(f"{where}: field {name} needs a column")
    unknown = set(raw) - {"column", "type", "format", "codes", "required", "owner"}
    if unknown:
        raise MappingError(f"{where}: field {name}: unknown keys {sorted(unknown)}")
    type_ = str(raw.get("type", "str"))
    if type_ not in TYPES:
        raise MappingError(f"{where}: field {name}: unknown type {type_}")
    codes = raw.get("codes")
    if codes is not None and not isinstance(codes, Mapping):
        raise MappingError(f"{where}: field {name}: codes must be a mapping")
    return FieldSpec(name=name, column=str(raw["column"]), type=type_,
                     format=str(raw.get("format", "%Y-%m-%d")),
                     codes={str(k): v for k, v in codes.items()} if codes else None,
                     required=bool(raw.get("required", False)),
                     owner=bool(raw.get("owner", True)))


def _stream(where: str, raw: Mapping[str, Any]) -> StreamSpec:
    name = str(raw.get("name", ""))
    where = f"{where}: stream {name or '?'}"
    for key in ("name", "resource", "position", "key", "match"):
        if key not in raw:
            raise MappingError(f"{where}: {key} is required")
    match = raw["match"]
    if not isinstance(match, Mapping) or match.get("field") not in MATCH_FIELDS:
        raise MappingError(f"{where}: match needs field (license_no or customer_code) and "
                           "column")
    fields = tuple(_field(where, n, v) for n, v in (raw.get("fields") or {}).items())
    unknown = {f.name for f in fields} - CUSTOMER_FIELDS
    if unknown:
        raise MappingError(f"{where}: not customer fields: {sorted(unknown)}")
    record = raw.get("record")
    record_kind: str | None = None
    record_fields: tuple[FieldSpec, ...] = ()
    if record is not None:
        record_kind = record.get("kind")
        if record_kind not in RECORD_KINDS:
            raise MappingError(f"{where}: record kind must be one of {sorted(RECORD_KINDS)}")
        record_fields = tuple(_field(where, n, v) for n, v in (record.get("fields") or {}).items())
    return StreamSpec(
        name=name, resource=str(raw["resource"]), position=str(raw["position"]),
        key=str(raw["key"]),
        match=FieldSpec(name=str(match["field"]), column=str(match["column"]), required=True),
        fields=fields, record=record_kind, record_fields=record_fields,
        event=_field(where, "event", raw["event"]) if raw.get("event") else None,
        field_events={str(k): str(v) for k, v in (raw.get("field_events") or {}).items()},
        occurred=_field(where, "occurred", raw["occurred"]) if raw.get("occurred") else None,
        current=raw.get("current", {}).get("resource") if raw.get("current") else None,
        current_key=raw.get("current", {}).get("key") if raw.get("current") else None,
    )


def load_source(path: Path, urls: Mapping[str, str] | None = None) -> SourceSpec:
    """Read one mapping file; ``urls`` (setting ``CONNECTOR_URLS``) overrides its ``url``."""
    where = str(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise MappingError(f"{where}: {exc}") from None
    if not isinstance(raw, Mapping):
        raise MappingError(f"{where}: expected a mapping at the top")
    for key in ("name", "type", "url", "streams"):
        if key not in raw:
            raise MappingError(f"{where}: {key} is required")
    if raw["type"] not in ("sql", "rest"):
        raise MappingError(f"{where}: type must be sql or rest")
    name = str(raw["name"])
    url = (urls or {}).get(name) or os.path.expandvars(str(raw["url"]))
    return SourceSpec(
        name=name, title=str(raw.get("title", name)), type=str(raw["type"]), url=url,
        streams=tuple(_stream(where, s) for s in raw["streams"]),
        schedule_seconds=float(raw.get("schedule_seconds", 10)),
        batch_size=int(raw.get("batch_size", 500)), timeout=float(raw.get("timeout", 5)),
        retries=int(raw.get("retries", 3)), page_size=int(raw.get("page_size", 200)),
        path=where,
    )


def load_sources(folder: str | Path | None = None,
                 urls: Mapping[str, str] | None = None) -> list[SourceSpec]:
    folder = Path(folder) if folder else BUILTIN_DIR
    if not folder.is_dir():
        raise MappingError(f"{folder}: no such folder of connector mappings")
    return [load_source(p, urls) for p in sorted(folder.glob("*.yaml"))]
