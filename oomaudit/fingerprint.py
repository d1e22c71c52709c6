"""Stable finding identity: what a baseline remembers, what SARIF, GitLab and ``diff`` match.

A fingerprint hashes the rule, the host, the file's path relative to the repository (or
tree) root and the logical key the rule chose (``Finding.key``: the pool, the unit, the
setting). Never the line or the numbers in the message: moving a line or changing a value
keeps the finding the same finding, and a fix shows as that fingerprint gone.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path

VERSION = "oomaudit/v1"  # SARIF's partialFingerprints key; bump if the recipe changes


def repository_root(targets: list[str], config: Path | None) -> Path:
    """What ``check`` paths are relative to: the git work tree holding the targets, else the
    folder of the config file in force, else the working directory. Independent of the
    targets' order, so ``check a b`` and ``check b a`` fingerprint alike."""
    absolute = [os.path.abspath(t) for t in targets] or [os.getcwd()]
    common = Path(os.path.commonpath(absolute))
    for folder in (common, *common.parents):
        if os.path.lexists(folder / ".git"):
            return folder
    return config.parent.absolute() if config else Path.cwd()


def relative(shown: str | None, root: Path, cwd: str) -> str:
    """``shown`` (a finding's path, relative to ``cwd`` or absolute) relative to ``root``,
    with forward slashes; "" for a finding about the host itself."""
    if not shown:
        return ""
    absolute = os.path.normpath(os.path.join(cwd, shown))
    try:
        rel = os.path.relpath(absolute, root)
    except ValueError:
        return absolute
    return absolute if rel.startswith("..") else Path(rel).as_posix()


def fingerprint(rule: str, host: str, path: str, key: str) -> str:
    text = "\0".join((rule, host, path, key))
    return _sha256()(text.encode("utf-8", "surrogatepass")).hexdigest()[:32]


@functools.cache  # a failed import searches sys.path again each time: once, not per finding
def _sha256():
    """SHA-256 from CPython's own built-in module where there is one (``_sha256`` to 3.11,
    ``_sha2`` from 3.12), else hashlib's: importing hashlib loads OpenSSL's ``_hashlib``,
    2.6 ms of a 58 ms pre-commit run on one file with a finding (``-X importtime``), for
    one hash of a few dozen bytes. The digest is the same either way."""
    try:
        from _sha2 import sha256
    except ImportError:
        try:
            from _sha256 import sha256
        except ImportError:
            from hashlib import sha256
    return sha256


def stamp(findings: list, root_of) -> None:
    """Give each ``(host, finding)`` its fingerprint; ``root_of(host)`` is ``(root, cwd)``
    for paths. Two findings that would share one (a rule firing twice on one file without
    a key) get ``#2``, ``#3`` in order, so that a baseline never hides a second one."""
    seen: dict[str, int] = {}
    for host, finding in findings:
        root, cwd = root_of(host)
        value = fingerprint(finding.rule, host, relative(finding.path, root, cwd), finding.key)
        seen[value] = n = seen.get(value, 0) + 1
        finding.fingerprint = value if n == 1 else f"{value}#{n}"
