"""The host model: what one audited machine is, as the rules see it.

A host is the live machine (``scan``), an offline tree laid out like ``/``
(``scan --root``), or the files of a config repository that belong to one host
profile (``check``). It holds the declared or measured facts (RAM, swap), the
parsed documents of every format, the memory ledger, and the reading problems
that the CONF rules report.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, NamedTuple

from . import confine
from .confine import Tree
from .hosttree import in_tree
from .ledger import Ledger
from .model import Finding, MissingFact
from .reading import Reader, Source, decode, looks_binary
from .record import Record

LIVE, ROOT, FILES = "live", "root", "files"


def printable(text: str) -> str:
    r"""A file name for reports. Names that are not UTF-8 reach Python as lone surrogates
    (``\udcff``), which JUnit's XML cannot carry and strict JSON readers reject; they are
    shown with U+FFFD instead, as ``ls`` shows them with ``?``. Other lone surrogates, which
    no file name makes but JSON's ``"\ud800"`` does (a fleet's reports, a facts file), too."""
    if text.isascii():  # nearly every name: a fleet's 10,000 reports skip the round trip
        return text
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    except UnicodeEncodeError:
        return re.sub("[\ud800-\udfff]", "\ufffd", text)


# C0, DEL, C1 (ESC and CSI among them) and the bidirectional marks that reorder a line, each
# to its escape (a table: the regex of these ranges cost 0.5 ms to compile on every run)
_CONTROL = {code: ascii(chr(code))[1:-1] for code in (
    *range(0x20), *range(0x7f, 0xa0), 0x61c, 0x200e, 0x200f, *range(0x202a, 0x202f),
    *range(0x2066, 0x206a))}


def terminal(text: str) -> str:
    r"""``text`` from a file, a file name or a log, fit for a terminal: ``printable``, and
    control characters as ``\x1b``/``\u202e`` escapes, so a process name in a kernel log
    cannot move the cursor, recolour the screen or hide a line."""
    text = printable(text)
    return text if text.isprintable() else text.translate(_CONTROL)  # the first: a C loop


def inside_path(root: Path, real: Path) -> str:
    """The path as the audited system sees it: ``ROOT/etc/fstab`` -> ``/etc/fstab``."""
    try:
        return "/" + real.relative_to(root).as_posix()
    except ValueError:
        return str(real)


class Fact(NamedTuple):
    """A value and where it came from: ``declared: --ram``, ``host profile .oomaudit.toml:9``,
    ``live: psutil``, ``live: cgroup memory.max /sys/fs/cgroup/memory.max``."""

    value: Any
    source: str


class Table(NamedTuple):
    """A small table a plugin wants in the report beside the findings (e.g. the kernel's
    current kill order). Reporters print it without knowing what it means."""

    title: str
    columns: list[str]
    rows: list[list[Any]]


class Measured(NamedTuple):
    """A service's processes as a live scan measured them (``oomaudit facts`` writes them;
    ``check --facts`` reads them back): how many, their RSS in bytes, and one process's size
    as the plugin counts it (a PHP-FPM pool's child, an Apache child; None where the plugin
    counts no per-process size). ``group``: a PHP-FPM pool's name, the config file a server
    reads (MySQL, PostgreSQL, Apache), or "" (nginx)."""

    service: str
    group: str
    processes: int
    rss: int
    largest: int
    per_process: int | None
    how: str  # how per_process was measured: "average PSS of 12 workers"
    source: str  # "live: /proc/PID/status" or "facts FILE (measured on HOST at TIME)"


class Host(Record):
    """One audited machine (see the module docstring). ``files`` is what discovery found,
    ``docs`` what each reader parsed of it (by reader name), ``diagnostics`` the CONF
    findings of reading it."""

    def __init__(self, name: str, mode: str, root: Path | None, settings: Any = None,
                 fs: Tree | None = None):
        self.name = name
        self.mode = mode  # LIVE, ROOT or FILES
        # "/" when live; None for a config repo (absolute includes don't resolve)
        self.root = root
        # check: the folder of the repository that stands for / (hosttree.py), if any
        self.tree: Path | None = None
        # every read of this host's files goes through it (confine.py): a repository's is
        # given by discovery, confined to the repository
        cap = getattr(settings, "max_file_size", confine.MAX_BYTES)
        # (a live host's root is /; one given another root, as tests build one, is that tree)
        rooted = root is not None and str(root) != "/"
        self.fs = fs or (Tree(root, confine.CHROOT, cap) if mode == ROOT and root is not None
                         or mode == LIVE and rooted else
                         Tree(Path("/"), confine.LIVE, cap) if mode == LIVE
                         else Tree(Path("/"), confine.JAIL, cap))
        self.settings = settings  # oomaudit.config.Settings
        self.facts: dict[str, Fact] = {}
        self.ledger = Ledger()
        self.diagnostics: list[Finding] = []
        self.sources: dict[Path, Source] = {}
        self.docs: dict[str, list[Any]] = {}  # by reader name
        self.tables: dict[str, Table] = {}  # views a plugin adds to the report
        self.cache: dict[str, Any] = {}  # shared work, e.g. the process snapshot
        self.files: list[tuple[Reader | None, Path]] = []  # None: unknown type
        # (service, group) -> its processes measured: live by the plugins, or from a facts file
        self.measured: dict[tuple[str, str], Measured] = {}
        # reader name -> {source shown: why} that could not be read (see unreadable())
        self.unread: dict[str, dict[str, str]] = {}
        self.cwd = os.getcwd()  # what display() is relative to

    @property
    def live(self) -> bool:
        return self.mode == LIVE

    @property
    def label(self) -> str:
        """How a finding about the host itself (no file) names its location."""
        return {LIVE: "live host", ROOT: str(self.root)}.get(self.mode, f"host {self.name}")

    def fact(self, key: str) -> Fact | None:
        return self.facts.get(key)

    def require(self, key: str) -> Fact:
        """The fact, or MissingFact so that the engine reports the rule as skipped."""
        if key in self.facts:
            return self.facts[key]
        hint = ("declare it with --ram/--swap or a [[hosts]] profile in .oomaudit.toml"
                if key in ("ram", "swap") else "not collected for this kind of target")
        raise MissingFact(key, hint)

    def documents(self, reader: str) -> list[Any]:
        """Parsed documents of one format, in discovery order."""
        return self.docs.get(reader, [])

    def document_of(self, source: Source, reader: str) -> Any:
        """The document reader ``reader`` made of ``source`` while parsing the host's files,
        or None: a loader following includes parses a file discovery gave it once, not twice."""
        key = f"documents.{reader}"
        if key not in self.cache:  # the documents hold their sources: ids stay theirs
            self.cache[key] = {id(getattr(doc, "source", None)): doc
                               for doc in self.docs.get(reader, ())}
        return self.cache[key].get(id(source))

    def given_none_of(self, *readers: str) -> bool:
        """A config repository (``check``) sees only the files it was given: True when no
        file of these formats was among them, so work that starts from them has none.
        (A live host or a tree finds a service's files itself: always False there.)"""
        return self.mode == FILES and not any(self.docs.get(name) for name in readers)

    def measured_size(self, service: str, group: str = "") -> Fact | None:
        """One process's size from a facts file (``check --facts``, ``[[hosts]] facts``): the
        group's (a PHP-FPM pool of that name), else the largest the service has. A live
        host measures its own processes: None there."""
        if self.live:
            return None
        found = self.measured.get((service, group)) or max(
            (m for m in self.measured.values() if m.service == service and m.per_process),
            key=lambda m: m.per_process, default=None)
        if found is None or not found.per_process:
            return None
        what = f"{service} {found.group}".strip() if found.group else service
        return Fact(found.per_process, f"{found.source}: {what}, {found.how}")

    def declared_size(self, service: str, path: Path | str | None) -> Fact | None:
        """``process-sizes = { SERVICE = SIZE }`` from the host profile this host belongs to
        (under ``--root``: the tree; in a config repo: the file at ``path``)."""
        settings = self.settings
        if settings is None or not settings.hosts:
            return None
        place = self.root if self.mode != FILES and self.root is not None else path
        profile = settings.profile_for(Path(place)) if place is not None else None
        size = profile.process_sizes.get(service) if profile else None
        if not size:
            return None
        return Fact(size, f"host profile '{profile.name}' {profile.source}: process-sizes")

    def resolve(self, path: str, relative_to: str = "/") -> Path | None:
        """Where a path named by a config (an include, a swap file) is, for this host.

        Live: the path itself. ``--root``: inside the tree, like a chroot. A config repo
        has no filesystem of its own: absolute paths resolve inside the host tree it holds
        (``tree``), else to None (not checked).
        """
        if self.root is None:
            if self.tree is not None and (os.path.isabs(path) or relative_to.startswith("/")):
                return in_tree(self.tree, path, relative_to, self.fs)
            if os.path.isabs(path):
                return None
            return Path(relative_to, path)
        return self.fs.inside(path, relative_to)

    def display(self, real: Path) -> str:
        """How findings name a file: relative to the working directory when below it."""
        text = str(real)
        try:
            rel = os.path.relpath(text, self.cwd)
        except ValueError:
            return printable(text)
        return printable(text if rel.startswith("..") else rel)

    def read(self, real: Path, reader: Reader | None = None, wanted_by: str = "") -> Source | None:
        """Read one file safely. Unreadable, binary or huge files become CONF findings."""
        key = Path(os.path.abspath(real))  # one file, spelt as discovery or a glob spells it
        if key in self.sources:
            return self.sources[key]
        shown = self.display(real)
        why = f" (named by {wanted_by})" if wanted_by else ""
        fmt = reader.name if reader is not None else ""
        try:
            data = self.fs.read(real)  # confined, never blocks, capped: see confine.py
        except PermissionError:
            self.unreadable(fmt, shown, f"permission denied{why}; run as root to audit it",
                            shown)
            return None
        except IsADirectoryError:
            self.diagnostics.append(Finding("CONF001", f"expected a file, found a directory{why}",
                                            shown))
            return None
        except OSError as exc:
            self.unreadable(fmt, shown, f"{exc.strerror or exc}{why}", shown)
            return None
        if looks_binary(data):
            self.diagnostics.append(Finding(
                "CONF001", "binary content (NUL bytes): not a text config, not read", shown))
            return None
        inside = inside_path(self.root, real) if self.mode == ROOT and self.root else str(real)
        source = Source(real, shown, decode(data), inside, reader)
        self.sources[key] = source
        return source

    def unreadable(self, reader: str, what: str, why: str, path: str | None = None) -> None:
        """A source of format ``reader`` (a file, or a live source such as ``/dev/kmsg``) that
        could not be read: permission denied, not a regular file, over the size cap. It is a
        CONF003 (``note_unreadable``), and the engine reports every rule that reads ``reader``
        (its ``reads=``) as *skipped* on this host, naming the source, unless the rule found
        something in what could be read: a rule that saw none of a file must not say it
        passed. ``Host.read`` calls it for every file read with a reader; a plugin reading a
        source of its own (the kernel logs of a live host) calls it itself."""
        self.note_unreadable(what, why, path)
        if reader:
            self.unread.setdefault(reader, {}).setdefault(what, why)

    def unread_by(self, readers: tuple[str, ...]) -> str:
        """Why a rule reading ``readers`` could not see everything, or "": the sources of
        those formats that could not be read, each with why (the first three, then a count)."""
        missed = {what: why for name in readers for what, why in self.unread.get(name, {}).items()}
        if not missed:
            return ""
        shown = [f"{what} ({why})" for what, why in list(missed.items())[:3]]
        more = f" and {len(missed) - 3} more" if len(missed) > 3 else ""
        return f"could not read {', '.join(shown)}{more}"

    def note_denied(self, shown: str | None, detail: str = "") -> None:
        """CONF003 for a file or folder this user may not read: an audit without root
        rights is partial, and says where (``detail``: who wanted it, e.g. " (named by X)")."""
        self.note_unreadable(shown or "a file", f"permission denied{detail}; run as root to "
                                                "audit it", shown)

    def note_unreadable(self, what: str, why: str, path: str | None = None,
                        key: str | None = None) -> None:
        """CONF003: the audit is partial; say what was skipped (a file, or a live source
        such as ``/proc/swaps``) and why; a file once, however many plugins met it.
        ``key`` (see ``Finding.key``): by default none for a file, ``what`` for a live
        source; give one when ``what`` holds something that changes (a PID)."""
        if key is None:
            key = "" if path else what
        finding = Finding("CONF003", f"could not read {what}: {why}", path, key=key)
        if not any(d.rule == "CONF003" and (d.path == path if path else d == finding)
                   for d in self.diagnostics):
            self.diagnostics.append(finding)
