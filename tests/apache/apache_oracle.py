"""Run Debian's apache2 as the reference reader of a configuration (ORACLES.md section 4).

``apache2 -t`` checks a configuration and starts no daemon. With ``-D DUMP_INCLUDES`` it
prints every file it read and the Include line that pulled it in; with mod_info injected
(``-C 'LoadModule info_module ...'``) ``-D DUMP_CONFIG`` prints every directive left after
<IfModule>/<IfDefine> evaluation, with file and line; the MPM's clamping warnings go to
stderr. One run gives all three.
"""
from __future__ import annotations

import os
import re
import subprocess
from dataclasses import dataclass, field

MODULES = "/usr/lib/apache2/modules"
INFO = f"LoadModule info_module {MODULES}/mod_info.so"
WARNING = re.compile(r"^(AH\d{5}: WARNING: (?:ServerLimit|ThreadLimit|ThreadsPerChild|"
                     r"MaxRequestWorkers) .*)$", re.M)
ERROR_AT = re.compile(r"Syntax error on line (\d+) of ([^:]+):")


@dataclass
class Outcome:
    rc: int
    stdout: str
    stderr: str
    includes: list[tuple[int, str]] = field(default_factory=list)
    directives: list[tuple[str, int, str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def error_at(self) -> tuple[str, int] | None:
        """(file, line) httpd blames, innermost include last."""
        found = ERROR_AT.findall(self.stderr + self.stdout)
        return (found[-1][1], int(found[-1][0])) if found else None


def run(apache2: str, root: str, top: str, defines: tuple[str, ...] = (),
        env: dict[str, str] | None = None) -> Outcome:
    args = [apache2, "-d", root, "-f", top, "-C", "ServerName localhost",
            "-C", "ErrorLog /dev/null", "-C", INFO, "-t", "-D", "DUMP_INCLUDES",
            "-D", "DUMP_CONFIG"]
    for name in defines:
        args += ["-D", name]
    proc = subprocess.run(args, capture_output=True, text=True, timeout=20,
                          env={"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/bin"),
                               **(env or {})})
    return parse(Outcome(proc.returncode, proc.stdout, proc.stderr))


def parse(outcome: Outcome) -> Outcome:
    """Fill in the files, directives and warnings of one -t run's output."""
    current, line = "", 0
    for text in outcome.stdout.splitlines():
        m = re.match(r"^ +\((\*|\d+)\) (.*)$", text)
        if m:
            outcome.includes.append((0 if m.group(1) == "*" else int(m.group(1)), m.group(2)))
        elif text.startswith("# In file: "):
            current = text[len("# In file: "):]
        elif re.match(r"^#\s+\d+:$", text):
            line = int(text.strip("#: "))
        elif current and text and not text.startswith("#") and current != "-c/-C directives":
            name, _, args = text.strip().partition(" ")
            outcome.directives.append((current, line, name, args))
    outcome.warnings = WARNING.findall(outcome.stderr)
    return outcome
