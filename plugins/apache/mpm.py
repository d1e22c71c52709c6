"""Which MPM a server runs and what its MPM directives set, read from its configuration
the way httpd's second pass reads them; the limits they give are
``oomaudit.parsers.apache_mpm``'s.

A repository's fragment loads no MPM of its own: one is assumed (and says so), and
directives of another MPM are then passed over rather than refused. Template
placeholders are never read as values.
"""
from __future__ import annotations

import re

from oomaudit.parsers.apache_config import Config, Problem, source_name
from oomaudit.parsers.apache_mpm import BY_NAME, CANONICAL, COMMANDS, MPM_ONLY, MPMS, Mpm, Setting
from oomaudit.parsers.apache_syntax import getword

PHP_MODULE = re.compile(r"^php\d*_module$")
TEMPLATE = ("{{", "{%", "<%")


def assumed_mpm(config: Config) -> tuple[Mpm, str]:
    """The MPM of a fragment that loads none: named by a file (mpm_prefork.conf), else the
    only MPM its <IfModule> sections ask about, else prefork under mod_php, else event
    (the MPM httpd 2.4 builds by default, Debian's and RHEL's too)."""
    for real in config.files:
        for mpm in BY_NAME.values():
            if f"mpm_{mpm.name}" in real.name:
                return mpm, f"assumed from the file name {real.name} (no LoadModule of an MPM)"
    asked = {m for m in MPMS.values() if {m.module, source_name(m.module)} & config.tested}
    if len(asked) == 1:
        mpm = asked.pop()
        return mpm, "assumed: the only MPM this file's <IfModule> sections name (no " \
                    "LoadModule of an MPM)"
    if any(PHP_MODULE.match(m) for m in config.modules):
        return BY_NAME["prefork"], "assumed: mod_php is loaded and needs prefork (no " \
                                   "LoadModule of an MPM)"
    return BY_NAME["event"], "assumed: httpd 2.4's default MPM (no LoadModule of an MPM)"


def mpm_settings(config: Config, mpm: Mpm, assumed: bool):
    """httpd's second pass over the MPM's directives: the last of each (and of its alias)
    wins; one in the wrong MPM, in a section, or with other than one argument stops httpd."""
    settings: dict[str, Setting] = {}
    names = COMMANDS
    for d in config.directives:
        lower = d.name.lower()
        if lower not in names or any(t in d.args for t in TEMPLATE):
            continue  # not an MPM directive, or a template's placeholder
        source = d.source
        if lower in MPM_ONLY and lower not in mpm.directives:
            if assumed:
                continue
            return settings, Problem(
                "CONF001", source, d.line, f"Invalid command '{d.name}', perhaps misspelled "
                f"or defined by a module not included in the server configuration (the "
                f"{mpm.name} MPM is loaded)")
        if d.sections:
            where = d.sections[-1]
            text = f"{names[lower]} cannot occur within {where}> section" \
                if where.lower() == "<virtualhost" else \
                f"{names[lower]} not allowed in {where}> context"
            return settings, Problem("CONF001", source, d.line, text)
        word, rest = getword(d.args)
        if not word or rest:
            return settings, Problem("CONF001", source, d.line,
                                     f"{names[lower]} takes one argument")
        canonical = CANONICAL[lower]
        settings[canonical] = Setting(canonical, names[lower], word, d.path, d.line)
    return settings, None
