"""The generic REST/JSON connector: pages through a resource by a position cursor.

``GET {url}{resource}?after=<position>&limit=<n>`` answers ``{"items": [...], "next": <position
or null>}``. Every request has a timeout; connection errors, timeouts and 5xx answers are retried
with exponential backoff, then reported as ``SourceUnavailable``; a 4xx or a body that is not the
expected JSON is a fault of the source, reported the same way (nothing is half taken).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from typing import Any

from connectors.base import Row, SourceUnavailable
from connectors.mapping import SourceSpec, StreamSpec

BACKOFF_BASE = 0.2
BACKOFF_MAX = 5.0


class RestConnector:
    def __init__(self, spec: SourceSpec, base_url: Callable[[], str] | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.spec = spec
        self._base_url = base_url or (lambda: spec.url)
        self._sleep = sleep
        self.requests = 0  # for tests and the status page: how many HTTP requests were made

    @property
    def name(self) -> str:
        return self.spec.name

    def _get(self, path: str, params: dict[str, Any]) -> Any:
        url = self._base_url().rstrip("/") + path + "?" + urllib.parse.urlencode(params)
        last = ""
        for attempt in range(self.spec.retries + 1):
            if attempt:
                self._sleep(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (attempt - 1)))
            self.requests += 1
            try:
                with urllib.request.urlopen(url, timeout=self.spec.timeout) as resp:
                    return json.loads(resp.read().decode("utf-8"))
            except urllib.error.HTTPError as exc:
                last = f"HTTP {exc.code} from {path}"
                if exc.code < 500:
                    break  # the request is wrong; asking again will not help
            except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
                last = f"{path}: {getattr(exc, 'reason', exc)}"
            except (ValueError, UnicodeDecodeError):
                last = f"{path}: the answer is not JSON"
                break
        raise SourceUnavailable(f"{self.name}: {last}")

    def fetch(self, stream: StreamSpec, after: int, limit: int) -> Sequence[Row]:
        rows: list[Row] = []
        cursor = after
        while len(rows) < limit:
            page = self._get(stream.resource, {"after": cursor,
                                               "limit": min(self.spec.page_size,
                                                            limit - len(rows))})
            items = page.get("items") if isinstance(page, dict) else None
            if not isinstance(items, list):
                raise SourceUnavailable(f"{self.name}: {stream.resource} answered without items")
            rows.extend(i for i in items if isinstance(i, dict))
            nxt = page.get("next")
            if not items or nxt is None:
                break
            cursor = int(nxt)
        return rows

    def head(self, stream: StreamSpec) -> int:
        page = self._get(stream.resource + "/head", {})
        return int(page.get("head") or 0) if isinstance(page, dict) else 0

    def current(self, stream: StreamSpec, keys: Sequence[str]) -> dict[str, Row]:
        if not stream.current or not stream.current_key or not keys:
            return {}
        page = self._get(stream.current, {stream.current_key: ",".join(keys)})
        items = page.get("items") if isinstance(page, dict) else None
        return {str(i[stream.current_key]): i for i in items or ()
                if isinstance(i, dict) and stream.current_key in i}

    def close(self) -> None:
        pass
