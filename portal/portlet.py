"""The portlet contract: what a plugin declares so the portal can place, cache and render it."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from portal.assurance import LEVELS

if TYPE_CHECKING:
    from flask import Blueprint

    from portal.auth import Principal

PORTLET_ID = re.compile(r"^[a-z][a-z0-9_]{1,39}$")


class Variance(enum.StrEnum):
    """What a cached fragment depends on besides the portlet's preferences."""

    USER = "user"
    POST = "post"
    ORG = "org"
    NONE = "none"


class Mode(enum.StrEnum):
    VIEW = "view"
    EDIT = "edit"
    HELP = "help"


class WindowState(enum.StrEnum):
    NORMAL = "normal"
    MINIMIZED = "minimized"
    MAXIMIZED = "maximized"


@dataclass(frozen=True)
class Size:
    """Grid cells on a 12-column grid; one row is about 80 px."""

    w: int
    h: int


@dataclass(frozen=True)
class CachePolicy:
    """``ttl`` seconds (0: never cache) and what the fragment varies by."""

    ttl: int = 60
    vary: Variance = Variance.USER


@dataclass(frozen=True)
class Preference:
    """One field of a portlet's preferences schema; the edit form is generated from it.

    ``type`` is one of ``int``, ``bool``, ``str``, ``choice``. Titles are message ids, translated
    when the form is shown.
    """

    name: str
    type: str
    default: Any
    title: str
    minimum: int | None = None
    maximum: int | None = None
    max_length: int = 200
    choices: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class PreferenceSchema:
    fields: tuple[Preference, ...] = ()

    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in self.fields}

    def validate(self, data: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
        """Return ``(clean values, errors by field)``; unknown fields are errors too.

        Values may come from a form (strings) or from JSON/YAML (typed); both are accepted.
        Missing fields are left out of the clean values so the layers below still apply.
        """
        from flask_babel import gettext as _

        clean: dict[str, Any] = {}
        errors: dict[str, str] = {}
        known = {f.name: f for f in self.fields}
        for name in data:
            if name not in known:
                errors[name] = _("Unknown preference.")
        for name, spec in known.items():
            if name not in data:
                continue
            raw = data[name]
            try:
                clean[name] = _coerce_preference(spec, raw)
            except ValueError as exc:
                errors[name] = str(exc)
        return clean, errors

    def merge(self, *layers: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults, then each layer (post, then user); keys not in the schema are ignored."""
        merged = self.defaults()
        for layer in layers:
            if layer:
                merged.update({k: v for k, v in layer.items() if k in merged})
        return merged


def _coerce_preference(spec: Preference, raw: Any) -> Any:
    from flask_babel import gettext as _

    if spec.type == "bool":
        if isinstance(raw, bool):
            return raw
        if str(raw).lower() in {"1", "true", "on", "yes"}:
            return True
        if str(raw).lower() in {"0", "false", "off", "no", ""}:
            return False
        raise ValueError(_("Must be yes or no."))
    if spec.type == "int":
        try:
            value = int(raw)
        except (TypeError, ValueError):
            raise ValueError(_("Must be a whole number.")) from None
        if isinstance(raw, bool):
            raise ValueError(_("Must be a whole number."))
        if spec.minimum is not None and value < spec.minimum:
            raise ValueError(_("Must be at least %(n)d.", n=spec.minimum))
        if spec.maximum is not None and value > spec.maximum:
            raise ValueError(_("Must be at most %(n)d.", n=spec.maximum))
        return value
    if spec.type == "choice":
        allowed = {key for key, _title in spec.choices}
        if str(raw) not in allowed:
            raise ValueError(_("Not one of the allowed choices."))
        return str(raw)
    if spec.type == "str":
        text = str(raw).strip()
        if len(text) > spec.max_length:
            raise ValueError(_("At most %(n)d characters.", n=spec.max_length))
        return text
    raise ValueError(f"unknown preference type {spec.type!r}")


@dataclass(frozen=True)
class RenderContext:
    """Everything a portlet's render function may depend on.

    Declare in ``CachePolicy.vary`` what your output depends on: a portlet that reads
    ``principal`` but is cached with ``vary=NONE`` would show one user's data to another.
    """

    principal: Principal
    window_id: str
    preferences: Mapping[str, Any]
    mode: Mode = Mode.VIEW
    state: WindowState = WindowState.NORMAL


Renderer = Callable[[RenderContext], str]


@dataclass(frozen=True)
class Portlet:
    """A portlet as a plugin declares it.

    ``title`` and ``description`` are message ids (English), translated through the message
    catalogues; ``posts`` and ``roles`` limit who may add the portlet (``None``: everybody).
    ``render`` returns HTML (usually ``render_template(...)``); for the edit mode the core
    generates the form from ``preferences``, and ``help`` is a message id or template name.
    """

    id: str
    title: str
    render: Renderer
    description: str = ""
    category: str = "general"
    posts: frozenset[str] | None = None
    roles: frozenset[str] | None = None
    default_size: Size = Size(4, 3)
    min_size: Size = Size(2, 2)
    max_size: Size = Size(12, 8)
    modes: frozenset[Mode] = frozenset({Mode.VIEW})
    window_states: frozenset[WindowState] = frozenset(WindowState)
    preferences: PreferenceSchema = field(default_factory=PreferenceSchema)
    cache: CachePolicy = field(default_factory=CachePolicy)
    timeout: float | None = None
    lazy: bool = False
    blueprint: Blueprint | None = None
    help: str = ""
    icon: str = "▦"
    #: Sign-in level needed to see the window (``portal.assurance``): sessions below it get a
    #: "certificate sign-in needed" box with a step-up link instead of the portlet.
    assurance: str = "password"

    def __post_init__(self) -> None:
        if not PORTLET_ID.match(self.id):
            raise ValueError(
                f"portlet id {self.id!r} must be 2-40 lowercase letters, digits or underscores"
            )
        if not (self.min_size.w <= self.default_size.w <= self.max_size.w) or not (
            self.min_size.h <= self.default_size.h <= self.max_size.h
        ):
            raise ValueError(f"portlet {self.id}: default size outside min/max size")
        if self.assurance not in LEVELS:
            raise ValueError(f"portlet {self.id}: unknown assurance level {self.assurance!r}")

    def allowed_for(self, principal: Principal) -> bool:
        """May *principal* add this portlet? Admins may add everything."""
        if "admin" in principal.roles:
            return True
        if self.posts is not None and not (self.posts & set(principal.posts)):
            return False
        return not (self.roles is not None and not (self.roles & set(principal.roles)))
