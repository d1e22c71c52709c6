"""CONF001-CONF003: problems met while reading configuration, reported like any finding.

Readers record what they could not parse (``source.problem``) and the host
records what it could not read (``host.note_unreadable``); these rules only
hand them to the engine, so select/ignore/suppressions apply to them too.
"""
from __future__ import annotations

from oomaudit import hookimpl
from oomaudit.catalogue import make_rules


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
