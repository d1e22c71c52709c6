"""nohang.conf read as nohang 0.2 reads it: each line that starts with none of '#', a
newline, a tab or a space is ``key = value`` (split at the first '=', both sides stripped;
a key given twice makes nohang refuse the file), except the ``@SOFT_ACTION_RE_*`` lines;
``@BADNESS_ADJ_RE_NAME ADJ /// REGEX`` adds ADJ to the badness of a process whose name
(``/proc/PID/comm``) the Python regex REGEX matches (``re.search``). Only what the rules
read is checked: the regexes compile, no key twice, ``soft_threshold_min_mem`` is a percent
or ``M`` (MiB). Proven against ``nohang --check``.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from oomaudit.reading import Source

BADNESS = "@BADNESS_ADJ_RE_NAME"
SOFT_ACTIONS = ("@SOFT_ACTION_RE_NAME", "@SOFT_ACTION_RE_CGROUP_V1", "@SOFT_ACTION_RE_CGROUP_V2")


class Adjustment(NamedTuple):
    adj: int
    regex: str
    line: int


class Nohang(NamedTuple):
    source: Source
    settings: dict[str, tuple[str, int]]  # key -> (value, line)
    badness: list[Adjustment]  # @BADNESS_ADJ_RE_NAME lines, in order
    starts: bool  # False: nohang refuses the file and exits


def parse(source: Source) -> Nohang:
    settings: dict[str, tuple[str, int]] = {}
    badness: list[Adjustment] = []
    error = None
    # lines as Python's text mode gives them to nohang: \r\n and \r end a line as \n does
    lines = [m.group(1) + ("\n" if m.group(2) else "")
             for m in re.finditer(r"([^\r\n]*)(\r\n|\r|\n|$)", source.text) if m.group(0)]
    for number, line in enumerate(lines, 1):
        if line.startswith(("#", "\n", "\t", " ")):
            continue
        if line.startswith(BADNESS):
            adj, _, regex = line.partition(BADNESS)[2].strip(" \n").partition("///")
            adj, regex = adj.strip(" "), regex.strip(" ")
            try:
                re.compile(regex)
            except re.error:
                error = error or (number, f"invalid regexp: {regex}")
            try:
                badness.append(Adjustment(int(adj), regex, number))
            except ValueError:
                pass  # nohang fails only when it adds it up, at a kill
        if line.startswith(SOFT_ACTIONS):
            continue
        key, _, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if key in settings:
            error = error or (number, f"config key duplication: {key}")
        else:
            settings[key] = (value, number)
    threshold = settings.get("soft_threshold_min_mem")
    if error is None and threshold and not _threshold_ok(threshold[0]):
        error = (threshold[1], "invalid soft_threshold_min_mem value")
    if error is not None:
        source.problem("CONF001", error[0], f"nohang refuses the file: {error[1]}: it exits at "
                       "start and kills nothing", key=source.line_text(error[0]))
    return Nohang(source, settings, badness, error is None)


def _threshold_ok(value: str) -> bool:
    """A percent up to 50 (of RAM), or MiB: nohang's calculate_percent (MiB are checked
    against the RAM only at start)."""
    if not value.endswith(("%", "M")):
        return False
    try:
        number = float(value[:-1].strip())
    except ValueError:
        return False
    return 0 <= number <= 50 if value.endswith("%") else number >= 0
