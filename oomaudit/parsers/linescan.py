"""The lines of a config file that can hold something, numbered as its program numbers them
(split at ``\\n``, from 1), found by one regex scan. A shipped postgresql.conf, php.ini, pool
file or sysctl.conf is mostly comments and blank lines; a Python loop would visit each of
them only to find nothing there. Each parser says with its pattern which lines are skipped
(pgconf, zendini, sysctl), and its tests compare the lines it reads with a reading of all.
"""
from __future__ import annotations

import re
from collections.abc import Iterator


def numbered(pattern: re.Pattern, text: str) -> Iterator[tuple[int, str]]:
    """(line number, matched text) of each match of ``pattern`` in ``text``, in order: a
    multiline pattern matching the lines worth reading, each within its line."""
    number, counted = 1, 0
    for found in pattern.finditer(text):
        number += text.count("\n", counted, found.start())
        counted = found.start()
        yield number, found.group()
