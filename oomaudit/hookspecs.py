"""The plugin API: every hook a plugin may implement. This module is the reference.

A plugin is a module (or object) with functions marked ``@oomaudit.hookimpl`` and
registered under the entry-point group ``oomaudit``::

    [project.entry-points.oomaudit]
    myplugin = "mypackage.oomaudit_plugin"

The built-in plugins (``oomaudit.plugins.*``) load through the same group, so
anything they do a third-party plugin can do. Data flows one way: readers parse
files, collectors add live facts to the host, rules turn the host into findings,
reporters turn the report into text. See docs/plugins.md for a complete plugin.
"""
from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("oomaudit")


@hookspec
def oomaudit_rules():
    """Return the rules this plugin provides: a list of :class:`oomaudit.Rule`.

    Build them from a TOML catalogue with :func:`oomaudit.make_rules`
    (id, title, severity, rationale, fix, references, example) or construct
    ``Rule`` directly. The engine calls each ``rule.check(host)`` itself and
    contains its errors; a check yields :class:`oomaudit.Finding` objects and
    raises :class:`oomaudit.MissingFact` (via ``host.require``) when a fact it
    needs, such as the RAM of an offline tree, was never declared.

    This hook runs on every invocation, so keep the module that implements it light:
    name checks as ``"module:function"`` (imported on first call) and give
    ``make_rules(..., reads=("myformat",))`` so that a config repository without such
    files passes the rules without importing their module.
    """


@hookspec
def oomaudit_readers():
    """Return the config formats this plugin reads: a list of :class:`oomaudit.Reader`.

    A reader names where its files live on a host (``system_paths``, globs under
    the root), how to recognise one in a repository (``file_patterns`` and an
    optional ``sniff`` of the first 4 KiB, asked only where the ``sniff_hint``
    regex is found), its comment prefixes (for inline
    ``oomaudit: ignore[...]``), and ``parse(source)`` which must read the file
    the way the real program does. Rules get parsed documents through
    ``host.documents(name)``; a reader reports syntax problems with
    ``source.problem(...)`` (CONF001/CONF002) instead of raising.
    """


@hookspec
def oomaudit_collect(host):
    """Add live facts to ``host`` (only called for ``oomaudit scan`` without ``--root``).

    Store them in ``host.facts[KEY]`` and, for memory a service may use, add
    consumers to ``host.ledger``. A fact that cannot be read (permission
    denied) becomes a CONF003 note via ``host.note_unreadable(...)``, never an
    exception. Collectors should be cheap: they run on every host scan.
    """


@hookspec
def oomaudit_budget(host):
    """Add this plugin's memory consumers to ``host.ledger`` from parsed configs.

    Called for every host (live, ``--root`` and config-repo hosts) before any
    rule runs, so that a rule asking ``host.ledger.left_for("php-fpm")`` sees
    what every other plugin claimed.
    """


@hookspec
def oomaudit_reporters():
    """Return output formats: a list of :class:`oomaudit.Reporter` (name, render).

    ``render(report, color)`` gets the whole :class:`oomaudit.report.Report` and
    returns the text to write, or an iterable of its pieces (kept in a temporary file as
    they come: a fleet's report need not fit in memory); a reporter knows nothing of
    configs. ``color`` is True
    only where colour is wanted; a format meant for people may honour
    ``report.quiet`` (--quiet) and ``report.statistics`` (--statistics), as text does.
    """
