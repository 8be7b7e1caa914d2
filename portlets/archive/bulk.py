"""``portal archive import FILE``: load records from CSV (UTF-8, header row) or JSON (a list of
objects) with the fields of ``service.parse``. Every row is checked first; one bad row means
nothing is saved, and the command lists each bad row with its reason."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from portlets.archive import service


class ImportFailed(Exception):
    """The file cannot be imported; ``problems`` holds one line per bad row."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def read_rows(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFailed([f"{path}: {exc}"]) from exc
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ImportFailed([f"{path}: not valid JSON ({exc})"]) from exc
        if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
            raise ImportFailed([f"{path}: expected a JSON list of objects"])
        return data
    if path.suffix.lower() == ".csv":
        return list(csv.DictReader(io.StringIO(text)))
    raise ImportFailed([f"{path}: use a .csv or .json file"])


def import_rows(session: Session, rows: list[dict[str, Any]], created_by: int | None = None
                ) -> int:
    """Check every row, then add them all (the caller commits); returns how many."""
    problems: list[str] = []
    parsed: list[service.RecordInput] = []
    numbers: set[tuple[str, int]] = set()
    for n, row in enumerate(rows, start=1):
        try:
            data = service.parse(session, {"source": "import", **row})
            service.check_unique(session, data)
        except service.Invalid as exc:
            problems.append(f"row {n}: {exc}")
            continue
        if data.number and (data.number, data.year) in numbers:
            problems.append(f"row {n}: number {data.number} appears twice in the file")
            continue
        if data.number:
            numbers.add((data.number, data.year))
        parsed.append(data)
    if problems:
        raise ImportFailed(problems)
    for data in parsed:
        service.add(session, data, created_by=created_by)
    return len(parsed)
