"""CONF001-CONF003: problems met while reading configuration, reported like any finding.

Readers record what they could not parse (``source.problem``) and the host
records what it could not read (``host.note_unreadable``); these rules only
hand them to the engine, so select/ignore/suppressions apply to them too.

Unlike the other packages, this one keeps its few lines of code beside the registration:
the three rules read no file, so they run on every host of every run, and a module of
their own would be one more import on each.
"""
from __future__ import annotations

from oomaudit import hookimpl, make_rules


def _from(rule: str):
    def check(host):
        yield from (f for f in host.diagnostics if f.rule == rule)
        for source in host.sources.values():
            yield from (f for f in source.problems if f.rule == rule)
    return check


@hookimpl
def oomaudit_rules():
    return make_rules({rule: _from(rule) for rule in ("CONF001", "CONF002", "CONF003")},
                      "conf.toml")
