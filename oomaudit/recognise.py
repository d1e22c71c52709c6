"""Which format a file of a repository is: by name first, then by its first 4 KiB.

``oomaudit check`` meets every file of a config repository, most of them no config
at all, so recognition is built once per run: the file patterns of every reader
become one regex, and the readers' sniff hints one search that must succeed
before any sniffer is asked.
"""
from __future__ import annotations

import fnmatch
import os
import re

from . import templates
from .confine import JAIL, Tree
from .reading import SNIFF_BYTES, Reader, looks_binary

# A template (fstab.j2, my.cnf.erb) is not the file it renders to: never recognised by name,
# and a file no name claims is refused here, for every reader, when it is one
# (oomaudit/templates.py): the skipped ones of a format we read are named in ``templates``.
TEMPLATE_SUFFIXES = templates.SUFFIXES
_NOTHING = re.compile("(?!)")
# Names and heads answered pattern by pattern, hint by hint, before the joined regexes are
# compiled: compiling those costs a one-file pre-commit run more than all its matching.
EARLY = 16


def _is_wild(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _literal_ends(pattern: str) -> tuple[str, str]:
    """The literal text before a pattern's first wildcard and after its last one: what any
    name it matches starts and ends with (``("kern.log.", "")`` for ``kern.log.[0-9]``)."""
    starts = [i for i in (pattern.find(c) for c in "*?[") if i >= 0]
    head = pattern[:min(starts)] if starts else pattern
    return head, pattern[max(pattern.rfind(c) for c in "*?]") + 1:]


class Recogniser:
    """Recognition for one set of readers (registration order decides between two
    readers that both claim a name). A reader whose sniff hint does not compile, or whose
    sniffer raises, is named in ``errors`` once and recognised by name only from then on:
    one plugin's bug must not end the walk of a repository."""

    def __init__(self, readers: dict[str, Reader], errors: list[str] | None = None,
                 fs: Tree | None = None):
        self.readers = list(readers.values())
        self.fs = fs or Tree("/", JAIL)  # the repository's: a chart's Chart.yaml is in it
        self.errors = [] if errors is None else errors
        # A pattern without "/" is about the file's name, one with "/" about its path: two
        # regexes, each with one group per reader (r<index>) around its patterns'
        # alternatives, compiled when first needed (most of a small run's cost otherwise).
        self._names: re.Pattern | None = None
        self._paths: re.Pattern | None = None
        self._patterns = {kind: [(r, p, *_literal_ends(p)) for r in self.readers
                                 for p in r.file_patterns if ("/" in p) is kind]
                          for kind in (False, True)}  # by whether a pattern is a path's
        self._looked = self._sniffed = 0  # answers given without the joined regexes
        # A path must end with the literal text after a path pattern's last wildcard
        # (".cnf" of "*/mysql/*.cnf"): most files of a repository are ruled out by that.
        self._path_ends = tuple(_literal_ends(p)[1]
                                for r in self.readers for p in r.file_patterns if "/" in p)
        self._plain = self._plain_names()
        self._sniffers = [r for r in self.readers if r.sniff]
        self._any_hint: re.Pattern | None = None  # compiled when first sniffing
        # the templates of a format we read that were skipped: path -> (format, why)
        self.templates: dict[str, tuple[str, str]] = {}
        self._charts: dict[str, bool] = {}  # folder -> whether it holds a Chart.yaml

    def _plain_names(self) -> dict[str, Reader]:
        """Names that are some reader's literal pattern (``fstab``, ``my.cnf``) and that no
        wildcard of an earlier reader claims: the answer for them needs no regex, so a
        pre-commit run on plainly named files compiles none."""
        plain: dict[str, Reader] = {}
        wild: list[tuple[str, str, str]] = []  # earlier readers' (pattern, head, tail)
        for reader in self.readers:
            patterns = [p for p in reader.file_patterns if "/" not in p]
            for name in patterns:
                if not _is_wild(name) and name not in plain and not any(
                        name.startswith(head) and name.endswith(tail)
                        and len(name) >= len(head) + len(tail)
                        and fnmatch.fnmatchcase(name, pattern) for pattern, head, tail in wild):
                    plain[name] = reader
            wild += [(p, *_literal_ends(p)) for p in patterns if _is_wild(p)]
        return plain

    def _claim(self, path: bool, text: str) -> Reader | None:
        """The first reader (registration order) with a pattern matching ``text``, as the
        joined regex finds it; fnmatch compiles only patterns whose literal ends fit."""
        for reader, pattern, head, tail in self._patterns[path]:
            if text.startswith(head) and text.endswith(tail) and (
                    text == pattern if head == pattern else fnmatch.fnmatchcase(text, pattern)):
                return reader
        return None

    def _join(self, wanted) -> re.Pattern:
        groups = []
        for i, reader in enumerate(self.readers):
            patterns = [fnmatch.translate(p) for p in reader.file_patterns if wanted(p)]
            if patterns:
                groups.append(f"(?P<r{i}>{'|'.join(patterns)})")
        return re.compile("|".join(groups)) if groups else _NOTHING

    def _hint_filter(self) -> re.Pattern:
        """One search for every hint. Without a hint a reader must be asked for every head,
        so then the search matches everything."""
        while self._any_hint is None:
            hints = [r.sniff_hint for r in self._sniffers]
            joined = "|".join(f"(?:{h})" for h in hints) if all(hints) else ""
            try:
                self._any_hint = re.compile(joined, re.M)
            except re.error:  # find the hint at fault (compiling each costs, so only now)
                for reader in list(self._sniffers):
                    try:
                        re.compile(reader.sniff_hint, re.M)
                    except re.error as exc:
                        self._drop(reader, f"its sniff_hint is no regex ({exc})")
        return self._any_hint

    def _hint(self, reader: Reader) -> re.Pattern | None:
        """The reader's own hint (re's cache compiles it once); None, and the reader dropped,
        when it is no regex."""
        try:
            return re.compile(reader.sniff_hint, re.M)
        except re.error as exc:
            self._drop(reader, f"its sniff_hint is no regex ({exc})")
            return None

    def _hinted(self, text: str) -> bool:
        """Whether some sniffer may take ``text``: hint by hint for the first heads (each
        compiled alone, reused by ``_sniff``), by one joined search afterwards."""
        if self._any_hint is None and self._sniffed < EARLY:
            self._sniffed += 1
            return any(not reader.sniff_hint or (hint := self._hint(reader)) is not None
                       and hint.search(text) for reader in list(self._sniffers))
        return self._hint_filter().search(text) is not None

    def _drop(self, reader: Reader, why: str) -> None:
        self._sniffers.remove(reader)
        self.errors.append(f"reader '{reader.name}' (plugin '{reader.plugin}'): {why}; its "
                           "files are recognised by name only")

    def by_name(self, relpath: str) -> Reader | None:
        """The reader whose ``file_patterns`` match the file's name, or else its path."""
        if relpath.endswith(TEMPLATE_SUFFIXES):
            return None
        name = relpath.rsplit("/", 1)[-1]
        if name in self._plain:
            return self._plain[name]
        if self._names is None and self._looked < EARLY:
            self._looked += 1
            return self._claim(False, name) or (self._claim(True, relpath) if relpath.endswith(
                self._path_ends) else None)
        if self._names is None:
            self._names = self._join(lambda p: "/" not in p)
        tries = [(self._names, name)]
        if relpath.endswith(self._path_ends):
            if self._paths is None:
                self._paths = self._join(lambda p: "/" in p)
            tries.append((self._paths, relpath))
        for regex, text in tries:
            m = regex.match(text)
            if m:  # the reader's group (fnmatch may add groups of its own, not named r...)
                group = next(k for k, v in m.groupdict().items() if v is not None and k[0] == "r")
                return self.readers[int(group[1:])]
        return None

    @property
    def sniffs(self) -> bool:
        return bool(self._sniffers)

    def by_content(self, head: bytes, relpath: str = "") -> Reader | None:
        """The first reader whose sniffer accepts these first bytes of a file, unless the file
        (at ``relpath``) is a template: then None, and ``templates`` names it."""
        if looks_binary(head[:SNIFF_BYTES]):
            return None
        text = head[:SNIFF_BYTES].decode("utf-8", errors="replace")
        if relpath.endswith(TEMPLATE_SUFFIXES):  # my.cnf.j2: the format of the name it
            named = templates.suffix(relpath)  # renders to, else of its text
            self._skip(relpath, self.by_name(relpath[:-len(named)]) or self._sniff(text), named)
            return None
        reader = self._sniff(text)
        if reader is None:
            return None
        why = ("a Helm chart's templates/" if self._in_chart(relpath) else
               templates.shaping(text, reader))
        return None if self._skip(relpath, reader, why) else reader

    def _skip(self, relpath: str, reader: Reader | None, why: str) -> bool:
        """Whether the file is a template (``why`` says how it shows): named in ``templates``
        when it renders to a format we read."""
        if reader is not None and why:
            self.templates[relpath] = (reader.name, why)
        return bool(why)

    def _in_chart(self, relpath: str) -> bool:
        """Whether the file is below the ``templates/`` of a folder holding a ``Chart.yaml``:
        Helm renders each of them. Asked only of files a sniffer took (once per folder)."""
        parts = relpath.split("/")
        for i in range(len(parts) - 2, -1, -1):
            if parts[i] == "templates":
                chart = "/".join(parts[:i]) or "."
                if chart not in self._charts:
                    self._charts[chart] = self.fs.is_file(os.path.join(chart, "Chart.yaml"))
                if self._charts[chart]:
                    return True
        return False

    def _sniff(self, text: str) -> Reader | None:
        if not self._hinted(text):
            return None
        text = templates.neutral(text)
        for reader in list(self._sniffers):  # re's cache compiles each hint once, if ever
            if reader.sniff_hint and ((hint := self._hint(reader)) is None
                                      or not hint.search(text)):
                continue
            try:
                if reader.sniff(text):
                    return reader
            except Exception as exc:  # a plugin's bug: say so, go on without its sniffer
                self._drop(reader, f"its sniffer raised {type(exc).__name__}: {exc}")
        return None
