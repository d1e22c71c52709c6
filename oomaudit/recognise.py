"""Which format a file of a repository is: by name first, then by its first 4 KiB.

``oomaudit check`` meets every file of a config repository, most of them no config
at all, so recognition is built once per run: the file patterns of every reader
become one regex, and the readers' sniff hints one search that must succeed
before any sniffer is asked.
"""
from __future__ import annotations

import fnmatch
import re

from .reading import SNIFF_BYTES, Reader, looks_binary

# A template (fstab.j2, my.cnf.erb) is not the file it renders to: never recognised by
# name; the sniffers refuse template markers, so it is left to a template-aware plugin.
TEMPLATE_SUFFIXES = (".j2", ".jinja", ".jinja2", ".erb", ".epp", ".tmpl", ".tpl",
                     ".template", ".mustache", ".hbs")
_NOTHING = re.compile("(?!)")


class Recogniser:
    """Recognition for one set of readers (registration order decides between two
    readers that both claim a name)."""

    def __init__(self, readers: dict[str, Reader]):
        self.readers = list(readers.values())
        self._names = [(r, "|".join(fnmatch.translate(p) for p in r.file_patterns))
                       for r in self.readers if r.file_patterns]
        joined = [pattern for _, pattern in self._names]
        self._any_name = re.compile("|".join(joined)) if joined else _NOTHING
        self._sniffers = [r for r in self.readers if r.sniff]
        self._hints: dict[str, re.Pattern] | None = None  # compiled when first sniffing
        self._any_hint: re.Pattern | None = None

    def _compile_hints(self) -> dict[str, re.Pattern]:
        self._hints = {r.name: re.compile(r.sniff_hint, re.M) for r in self._sniffers
                       if r.sniff_hint}
        # Without a hint a reader must be asked for every head, so the shared search
        # can only rule out files when every sniffer has one.
        if len(self._hints) == len(self._sniffers):
            self._any_hint = re.compile("|".join(f"(?:{r.sniff_hint})" for r in self._sniffers),
                                        re.M)
        return self._hints

    def by_name(self, relpath: str) -> Reader | None:
        """The reader whose ``file_patterns`` match the file's name or else its path."""
        if relpath.endswith(TEMPLATE_SUFFIXES):
            return None
        name = relpath.rsplit("/", 1)[-1]
        for text in (name, relpath):
            if self._any_name.match(text):  # the one search most files end with
                # which reader: rare enough for re's own cache of compiled patterns
                return next(r for r, pattern in self._names if re.match(pattern, text))
        return None

    @property
    def sniffs(self) -> bool:
        return bool(self._sniffers)

    def by_content(self, head: bytes) -> Reader | None:
        """The first reader whose sniffer accepts these first bytes of a file."""
        if looks_binary(head[:SNIFF_BYTES]):
            return None
        text = head[:SNIFF_BYTES].decode("utf-8", errors="replace")
        hints = self._hints if self._hints is not None else self._compile_hints()
        if self._any_hint is not None and self._any_hint.search(text) is None:
            return None
        for reader in self._sniffers:
            hint = hints.get(reader.name)
            if (hint is None or hint.search(text)) and reader.sniff(text):
                return reader
        return None
