"""Host profiles: which ``[[hosts]]`` table of a config a repository file belongs to.

A table names its host's files with ``paths`` patterns, or stands for a host per folder
with ``each``; a fleet repository has thousands of hosts, so the tables are indexed once
(``ProfileIndex``) instead of each tried on every file. ``config.py`` validates the tables
and builds these.
"""
from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from pathlib import Path

from .record import Record

EACH_FACTS = "facts.json"  # an each-host's measured facts, as contrib/ansible fetches them


class HostProfile(Record):
    """A host of a config repository: the files under ``paths`` belong to a machine with
    this RAM and swap (``hosts/db1/**`` is an 8 GiB database server). With ``each``
    (``hosts/*``) the table stands for many hosts, one per folder the pattern matches
    (``host_in``)."""

    def __init__(self, name: str, paths: list[str], ram: int | None, swap: int | None,
                 source: str, role: str = "", process_sizes: dict[str, int] | None = None,
                 facts: Path | None = None, each: str = "", base: Path | None = None):
        self.name = name
        self.paths = paths
        self.each = each  # a folder pattern relative to ``base``: each match is a host
        self.base = base  # the config file's folder, where ``each`` and its facts start
        self._hosts: dict[str, HostProfile] = {}  # each: a folder -> its host, made once
        self.ram = ram
        self.swap = swap
        self.source = source  # file:line of the [[hosts]] table
        self.role = role
        # declared size of one process of a service ("php-fpm" = one pool child), for rules
        # that would otherwise estimate it from the config: process-sizes = { php-fpm = "80M" }
        self.process_sizes = {} if process_sizes is None else process_sizes
        # facts = "db1.json": what `oomaudit facts` measured on the host (relative to the
        # config file; in an each table, to each folder, and only where the folder has it);
        # its RAM, swap and process sizes win over ram, swap, process-sizes
        self.facts = facts

    def matches(self, relpath: str) -> bool:
        return any(fnmatch.fnmatchcase(relpath, p) or fnmatch.fnmatchcase(relpath + "/", p)
                   for p in self.paths)

    def host_in(self, relpath: str, named: Callable[[Path], bool]) -> HostProfile | None:
        """The host of an ``each`` table that ``relpath`` (from the config's folder) is in:
        its first components name a folder the pattern matches, one by one (``*`` never
        crosses a ``/``), and the file is inside it. The host is named after the folder
        (``hosts/db1``, the name a ``paths = ["hosts/db1/**"]`` table gets), has the
        table's values as defaults and the folder's ``facts.json`` (or the table's
        ``facts`` name) over them where the folder has one. ``named`` looks for the name
        without following it: what it is (a link out, a folder, a broken link) is for the
        confined read to say, as the host's CONF003, not for this look to pass it by."""
        parts = relpath.split("/")
        pattern = self.each.split("/")
        if len(parts) <= len(pattern) or not all(
                map(fnmatch.fnmatchcase, parts[:len(pattern)], pattern)):
            return None
        folder = "/".join(parts[:len(pattern)])
        host = self._hosts.get(folder)
        if host is None:
            facts = self.base / folder / self.facts  # in an each table: the name in a folder
            host = self._hosts[folder] = HostProfile(
                folder, [f"{folder}/**"], self.ram, self.swap, self.source, self.role,
                self.process_sizes, facts if named(facts) else None)
        return host


class ProfileIndex:
    """``[[hosts]]`` tables found in a few dictionary lookups per file instead of every
    pattern tried on every file (a fleet repository has a table per host). A pattern that
    is a plain prefix and stars (``hosts/db1/**``, ``hosts/web*``) matches exactly the paths
    that start with its prefix (fnmatch's ``*`` crosses ``/``), so it is looked up by the
    file's prefixes; any other pattern, and ``each``, are tried in order, but only while
    they come before the best table found. The first table in file order wins, as before."""

    def __init__(self, profiles: list[HostProfile], base: str, named: Callable[[Path], bool]):
        self.profiles, self.size, self.base = profiles, len(profiles), base  # base: its identity
        self.named = named  # the config's own way to look at the repository
        self.prefixes: dict[str, int] = {}  # prefix -> the first table it belongs to
        self.others: list[tuple[int, HostProfile]] = []  # in file order
        for order, profile in enumerate(profiles):
            plain = [] if profile.each else [m.group(1) for m in map(_PREFIX.fullmatch,
                                                                     profile.paths) if m]
            for prefix in plain:
                self.prefixes.setdefault(prefix, order)
            if profile.each or len(plain) < len(profile.paths):
                self.others.append((order, profile))
        self.lengths = sorted({len(p) for p in self.prefixes})

    def find(self, rel: str) -> HostProfile | None:
        slashed = rel + "/"  # a folder given as a target: "hosts/db1" is in hosts/db1/**
        best = min((self.prefixes[slashed[:n]] for n in self.lengths
                    if n <= len(slashed) and slashed[:n] in self.prefixes), default=None)
        for order, profile in self.others:
            if best is not None and order > best:
                break
            host = profile.host_in(rel, self.named) if profile.each else (
                profile if profile.matches(rel) else None)
            if host is not None:
                return host
        return None if best is None else self.profiles[best]


_PREFIX = re.compile(r"([^*?\[]*)\*+")  # a plain prefix, then only stars
