"""What one configuration may read through its includes, in files and bytes together.

Each reader caps include *depth* as its program does, but depth alone lets a file include
the next one twice, twenty levels deep: a million reads of a few small files (Apache
follows 128 levels, nginx any number). A budget per configuration read (a top-level file
with everything it includes) bounds the total; past it, the reader records a CONF002 at
the include line naming the cap and reads on without the rest of the includes. A systemd
unit with its drop-ins is one configuration too: drop-ins have no include line, so the
first one past the budget carries the CONF002 (``systemd_units.within_budget``).
"""
from __future__ import annotations

MAX_FILES = 1024  # files one configuration reads through includes (a site per file included)
MAX_BYTES = 64 << 20  # their text together: four files at the per-file cap


class IncludeBudget:
    def __init__(self, files: int = MAX_FILES, size: int = MAX_BYTES):
        self.files, self.size = files, size
        self.read_files = self.read_bytes = 0
        self.spent = ""  # why includes stop being followed, once they do

    def admit(self, size: int) -> str:
        """Count an included file of ``size`` bytes: "" when it fits, else the cap it passes
        (and every later include is refused with the same words)."""
        if not self.spent:
            self.read_files += 1
            self.read_bytes += size
            if self.read_files > self.files:
                self.spent = (f"more than {self.files} files read through includes "
                              "(oomaudit's cap): this one and later ones not read")
            elif self.read_bytes > self.size:
                self.spent = (f"more than {self.size >> 20} MiB read through includes "
                              "(oomaudit's cap): this one and later ones not read")
        return self.spent
