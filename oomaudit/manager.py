"""Plugin discovery and safe hook calls.

Every plugin, built-in or third-party, comes from the entry-point group
``oomaudit``. Discovery is separate from import so that one broken plugin is
named in one line and the others still load; each hook implementation is called
on its own so that an exception is blamed on the plugin that raised it.
"""
from __future__ import annotations

import os
from types import FunctionType, MethodType, ModuleType
from typing import Any

import pluggy

from . import hookspecs
from .record import Record

GROUP = "oomaudit"
BUILTIN_PREFIX = "oomaudit."  # built-in rules and reporters live in our namespace
DISABLE_ENV = "OOMAUDIT_DISABLE_PLUGINS"
_MARK = f"{GROUP}_impl"  # the attribute pluggy.HookimplMarker(GROUP) sets on a hook


class Plugins(Record):
    """The loaded plugins and what went wrong with them. Hooks are called through ``call_each``
    so that a plugin's exception becomes one line of ``errors`` (a run error, exit status 2)
    and the other plugins still run."""

    def __init__(self, manager: pluggy.PluginManager):
        self.manager = manager
        self.errors: list[str] = []  # one line each: which plugin, what failed

    def call_each(self, hook: str, *args: Any) -> list[tuple[str, Any]]:
        """(plugin name, result) for every implementation of ``hook``; an exception is
        recorded in ``errors`` against that plugin and the others still run. Permission
        denied on a host's file is no bug but an audit without root rights: a CONF003 of
        that host, naming the file."""
        results = []
        caller = getattr(self.manager.hook, hook)
        for impl in caller.get_hookimpls():  # registration order
            try:
                results.append((impl.plugin_name, impl.function(*args)))
            except PermissionError as exc:
                host = args[0] if args and hasattr(args[0], "note_denied") else None
                if host is None:
                    self.errors.append(f"plugin '{impl.plugin_name}' failed in {hook}: {exc}")
                else:  # an audit without root rights: partial, and it says where
                    shown = host.display(exc.filename) if exc.filename else None
                    host.note_denied(shown, f" (plugin '{impl.plugin_name}' did not finish)")
            except Exception as exc:  # a plugin bug must not end the audit
                self.errors.append(f"plugin '{impl.plugin_name}' failed in {hook}: "
                                   f"{type(exc).__name__}: {exc}")
        return results

    def collected(self, hook: str) -> list[tuple[str, Any]]:
        """Flatten list-returning hooks (rules, readers, reporters) into (plugin, item); a
        result that is no list is that plugin's error."""
        found = []
        for name, items in self.call_each(hook):
            if isinstance(items, (list, tuple)):
                found += [(name, item) for item in items]
            elif items is not None:
                self.errors.append(f"plugin '{name}' returned {items!r:.60} from {hook}, "
                                   "not a list; ignored")
        return found


class _Manager(pluggy.PluginManager):
    """pluggy's manager, with a quicker first look at a module's names. pluggy looks each
    name of a plugin up with ``inspect.getattr_static`` (about 500 over the built-in
    plugins' modules: 2 ms of a run on one file); for a module, its own dict gives the same
    answer, and only a function marked as a hook, or what pluggy could bind as one, goes
    on to pluggy's own reading."""

    def parse_hookimpl_opts(self, plugin, name: str):
        if isinstance(plugin, ModuleType):
            value = vars(plugin).get(name)
            if not isinstance(value, (FunctionType, MethodType, staticmethod, classmethod)):
                return None
            if isinstance(value, FunctionType) and _MARK not in value.__dict__:
                return None
        return super().parse_hookimpl_opts(plugin, name)


def third_party_disabled(flag: bool = False) -> bool:
    return flag or os.environ.get(DISABLE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def load_plugins(disable_third_party: bool = False,
                 extra: tuple[tuple[str, object], ...] = ()) -> Plugins:
    """Register every plugin of the entry-point group (and ``extra`` modules, for tests and
    embedding). A plugin that fails to import is reported, not raised."""
    from .entrypoints import entry_points

    manager = _Manager(GROUP)
    manager.add_hookspecs(hookspecs)
    plugins = Plugins(manager)
    skip_third = third_party_disabled(disable_third_party)
    seen: dict[str, str] = {}
    for ep in entry_points(GROUP):
        if skip_third and not ep.value.startswith(BUILTIN_PREFIX):
            continue
        if ep.name in seen:  # two distributions claim one plugin name: say so, keep the first
            if seen[ep.name] != ep.value:
                plugins.errors.append(f"plugin name '{ep.name}' is used by both {seen[ep.name]} "
                                      f"and {ep.value}; the second is not loaded")
            continue
        seen[ep.name] = ep.value
        try:
            module = ep.load()
            manager.register(module, name=ep.name)
        except Exception as exc:
            plugins.errors.append(f"plugin '{ep.name}' ({ep.value}) failed to load: "
                                  f"{type(exc).__name__}: {exc}")
    for name, module in extra:
        manager.register(module, name=name)
    return plugins

