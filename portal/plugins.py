"""Finding, loading and isolating plugins.

Built-in portlets, sign-in backends and connectors are found through the ``portal`` entry point
group exactly like a department's own distribution. A plugin that fails to import, or whose
registration hook raises, is recorded as broken and left out; the portal starts without it. A
misspelled hook implementation is a programming error and stops start-up with its name.
"""

from __future__ import annotations

import importlib.metadata as md
import logging
import traceback
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pluggy

from portal import hookspecs

log = logging.getLogger(__name__)

hookimpl = pluggy.HookimplMarker(hookspecs.PROJECT)


class PluginStartupError(RuntimeError):
    """A plugin implements a hook that does not exist (usually a typo)."""


@dataclass
class PluginInfo:
    name: str
    module: str
    distribution: str = ""
    version: str = ""
    state: str = "active"  # active | disabled | broken
    error: str = ""
    hooks: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "module": self.module,
            "distribution": self.distribution,
            "version": self.version,
            "state": self.state,
            "error": self.error,
            "hooks": self.hooks,
        }


class PluginManager:
    """pluggy's manager plus the bookkeeping the admin's plugin page shows."""

    def __init__(self) -> None:
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.info: dict[str, PluginInfo] = {}

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def load_entry_points(self, disabled: Iterable[str] = ()) -> None:
        blocked = set(disabled)
        for ep in sorted(md.entry_points(group=hookspecs.PROJECT), key=lambda e: e.name):
            if ep.name in self.info:
                continue
            dist = ep.dist
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.metadata["Name"] if dist else "",
                version=dist.version if dist else "",
            )
            self.info[ep.name] = info
            if ep.name in blocked:
                self.pm.set_blocked(ep.name)
                info.state = "disabled"
                continue
            try:
                plugin = ep.load()
            except Exception as exc:
                self._mark_broken(ep.name, exc)
                continue
            self.register(plugin, ep.name, info)

    def register(self, plugin: object, name: str, info: PluginInfo | None = None) -> None:
        """Register *plugin* (a module or object); used for entry points and by tests."""
        if info is None:
            module = plugin.__name__ if isinstance(plugin, ModuleType) else type(plugin).__name__
            info = self.info.setdefault(name, PluginInfo(name=name, module=module))
        try:
            self.pm.register(plugin, name=name)
        except pluggy.PluginValidationError as exc:
            # A hook implementation whose arguments match no specification: a bug, not an
            # outage, so start-up stops and says which plugin.
            raise PluginStartupError(f"plugin {name!r}: {exc}") from None
        info.hooks = sorted(
            hc.name for hc in self.pm.get_hookcallers(plugin) or () if hc.name.startswith("portal_")
        )

    def check(self) -> None:
        """Fail loudly on hook implementations that match no specification."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            raise PluginStartupError(f"plugin {exc.plugin!r}: {exc}") from None

    def mark_broken(self, name: str, exc: BaseException) -> None:
        """Record *name* as broken and stop calling it (also used by the app for errors it
        finds in what a plugin registered, such as a clashing blueprint)."""
        self._mark_broken(name, exc)

    def broken(self) -> set[str]:
        return {name for name, info in self.info.items() if info.state == "broken"}

    def _mark_broken(self, name: str, exc: BaseException) -> None:
        info = self.info.setdefault(name, PluginInfo(name=name, module="?"))
        info.state = "broken"
        info.error = "".join(traceback.format_exception_only(exc)).strip()
        log.error("plugin %s is broken and was left out: %s", name, info.error)
        log.debug("traceback of plugin %s", name, exc_info=exc)
        plugin = self.pm.get_plugin(name)
        if plugin is not None:
            self.pm.unregister(plugin)
        self.pm.set_blocked(name)

    def collect(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation of *hook_name* on its own, isolating failures.

        Returns ``(plugin name, result)`` pairs; a plugin whose implementation raises is marked
        broken, unregistered and skipped, so one bad plugin never stops start-up.
        """
        return self.call_safely(hook_name, self._mark_broken, **kwargs)

    def collect_flat(self, hook_name: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Like :meth:`collect` for hooks returning iterables: one pair per returned item."""
        flat: list[tuple[str, Any]] = []
        for name, items in self.collect(hook_name, **kwargs):
            try:
                flat.extend((name, item) for item in items)
            except Exception as exc:
                self._mark_broken(name, exc)
        return flat

    def call_safely(self, hook_name: str, on_error: Callable[[str, Exception], None],
                    **kwargs: Any) -> list[tuple[str, Any]]:
        """Call every implementation at run time; errors go to *on_error*, nothing is marked."""
        caller = getattr(self.pm.hook, hook_name)
        results: list[tuple[str, Any]] = []
        for impl in reversed(caller.get_hookimpls()):
            args = {name: kwargs[name] for name in impl.argnames if name in kwargs}
            try:
                result = impl.function(**args)
            except Exception as exc:
                on_error(impl.plugin_name, exc)
                continue
            if result is not None:
                results.append((impl.plugin_name, result))
        return results

    def listing(self) -> list[PluginInfo]:
        return sorted(self.info.values(), key=lambda i: i.name)
