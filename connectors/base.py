"""What a connector is to the sync engine: named streams of rows ordered by a change position.

``portal_connectors`` returns objects of this shape. A connector only reads; converting rows,
matching customers, raising events and committing are the sync engine's job (one place).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from connectors.mapping import SourceSpec, StreamSpec

Row = Mapping[str, Any]


class SourceUnavailable(RuntimeError):
    """The source system cannot be read now (down, timing out, refusing); try again later."""


@runtime_checkable
class Connector(Protocol):
    spec: SourceSpec

    @property
    def name(self) -> str: ...

    def fetch(self, stream: StreamSpec, after: int, limit: int) -> Sequence[Row]:
        """Rows of *stream* whose position is greater than *after*, by position, at most
        *limit*. Raises ``SourceUnavailable`` when the source cannot be read."""

    def head(self, stream: StreamSpec) -> int:
        """The greatest position the stream has now (for the lag on the status page)."""

    def current(self, stream: StreamSpec, keys: Sequence[str]) -> dict[str, Row]:
        """The source's current rows for these customer keys (reconciliation by sample)."""

    def close(self) -> None: ...
