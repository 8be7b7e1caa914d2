"""The catalogue of work item types: name, time limit, rating scheme and escalation ladder.

The built-in catalogue below serves the demo; a deployment replaces it with a YAML file named by
the ``COLLAB_CATALOGUE`` setting (same keys, see docs/collab.md). The ladder follows the seed
paper: 员 → 基层部门 → 市局职能部门 → 党组. Its levels after the person are ``unit`` (the
holder's own unit) or ``org:<code>`` (a named unit); a code the organisation lacks stands for the
root unit (the city bureau), so a partial organisation still escalates somewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from flask import current_app

from portal.toolkit import setting

GRADES = ("优秀", "良好", "合格", "不合格")
FAILING_GRADE = "不合格"
PASS_SCORE = 60


@dataclass(frozen=True)
class WorkType:
    code: str
    name: str
    name_en: str
    time_limit_hours: float      # working hours from each hand-over
    rating: str                  # "score" (0..100) or "grade" (优秀/良好/合格/不合格)
    ladder: tuple[str, ...]      # escalation levels after the person

    def fails(self, score: int | None, grade: str | None) -> bool:
        """Whether a rating sends the item back (不合格, or a score under 60)."""
        if self.rating == "score":
            return score is None or score < PASS_SCORE
        return grade == FAILING_GRADE


BUILT_IN: tuple[WorkType, ...] = (
    WorkType("customer_service", "客户服务", "Customer service", 16, "grade",
             ("unit", "org:JX-YXZX", "org:JX-DZ")),
    WorkType("market_check", "市场检查", "Market inspection", 24, "score",
             ("unit", "org:JX-ZMC", "org:JX-DZ")),
    WorkType("violation_lead", "违规线索", "Violation lead", 8, "score",
             ("unit", "org:JX-ZMC", "org:JX-DZ")),
    WorkType("logistics", "物流问题", "Logistics problem", 16, "grade",
             ("unit", "org:JX-WLZX", "org:JX-DZ")),
    WorkType("other", "其他", "Other", 24, "grade", ("unit", "org:JX-BGS", "org:JX-DZ")),
)


class CatalogueError(ValueError):
    pass


def _parse(entries: object, source: str) -> tuple[WorkType, ...]:
    if not isinstance(entries, list) or not entries:
        raise CatalogueError(f"{source}: expected a non-empty list of work types")
    types = []
    for i, e in enumerate(entries):
        try:
            wt = WorkType(code=str(e["code"]), name=str(e["name"]),
                          name_en=str(e.get("name_en", e["name"])),
                          time_limit_hours=float(e["time_limit_hours"]),
                          rating=str(e.get("rating", "grade")),
                          ladder=tuple(str(level) for level in e.get("ladder", ("unit",))))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CatalogueError(f"{source}: entry {i + 1}: {exc}") from exc
        if wt.rating not in ("score", "grade") or wt.time_limit_hours <= 0 or any(
                level != "unit" and not level.startswith("org:") for level in wt.ladder):
            raise CatalogueError(f"{source}: entry {i + 1} ({wt.code}): bad rating, time "
                                 "limit or ladder level")
        types.append(wt)
    return tuple(types)


def work_types() -> tuple[WorkType, ...]:
    """The catalogue in force; a file is read once per app (restart to change it)."""
    path = str(setting("COLLAB_CATALOGUE") or "")
    if not path:
        return BUILT_IN
    cache: dict[str, tuple[WorkType, ...]] = current_app.extensions.setdefault(
        "collab_catalogue", {})
    if path not in cache:
        text = Path(path).read_text(encoding="utf-8")
        cache[path] = _parse(yaml.safe_load(text), path)
    return cache[path]


def work_type(code: str) -> WorkType | None:
    return next((t for t in work_types() if t.code == code), None)
