"""oomaudit: audit a Linux host or a config repository for what lets the OOM killer strike.

The public API for plugin authors is re-exported here, and a plugin needs no other
import: the values a check works with (``Evidence``, ``Fact``, ``Finding``,
``MissingFact``, ``Severity``), what a plugin registers (``Reader``, ``Reporter``, ``Rule``,
``make_rules``, ``checks_in``, ``hookimpl``), sizes as oomaudit reads and prints them
(``parse_size``, ``format_size``), ``snippet`` (a fix that names a value read from a file:
shell words quoted, no value adding a line) and ``main`` (the command line in-process, for a
plugin's tests). ``oomaudit.hookspecs`` documents every hook. See docs/plugins.md.

The names are resolved on first use (PEP 562), so commands that load no plugin
(``oomaudit logs``, ``--version``) do not pay for importing pluggy.
"""
from __future__ import annotations

__version__ = "0.1.0"

__all__ = [
    "Evidence", "Fact", "Finding", "MissingFact", "Reader", "Reporter", "Rule", "Severity",
    "Source", "checks_in", "format_size", "hookimpl", "main", "make_rules", "parse_size",
    "snippet", "__version__",
]

_HOMES = {"Evidence": "model", "Finding": "model", "MissingFact": "model", "Rule": "model",
          "Severity": "model", "Reader": "reading", "Source": "reading", "Reporter": "report",
          "Fact": "host", "make_rules": "catalogue", "checks_in": "catalogue",
          "format_size": "units", "parse_size": "units", "snippet": "snippets", "main": "cli"}


def __getattr__(name: str):
    if name == "hookimpl":
        import pluggy

        value = pluggy.HookimplMarker("oomaudit")
    elif name in _HOMES:
        from importlib import import_module

        value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
    else:
        raise AttributeError(f"module 'oomaudit' has no attribute {name!r}")
    globals()[name] = value  # one marker instance for every plugin
    return value
