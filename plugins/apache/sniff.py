"""Whether a file's head is Apache's: imported when a file's name says nothing and its
head passes the reader's sniff hint, so it holds nothing else."""
from __future__ import annotations

import re

from .constants import SNIFF_HINT

_SNIFF = re.compile(SNIFF_HINT, re.M)


def looks_like_apache(head: str) -> bool:
    """Apache's own section tags and directives, which no other format uses: exactly
    the reader's sniff hint, which is written out in ``constants.py``."""
    return bool(_SNIFF.search(head))
