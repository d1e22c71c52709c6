"""``.oomaudit.toml`` / ``[tool.oomaudit]``: which config governs what, and its validation.

``check`` gives each file the closest config above it, as ruff does (``Configs``);
``scan`` reads the operator's host-wide ``/etc/oomaudit.toml`` (``system_config``), never
a file above the working directory nor one inside the tree it audits. The same keys work
in both files. Unknown keys and bad values are errors with ``file:line`` (a typo in
``ignore`` must not silently audit everything).

One concern: the user's configuration, from the file found to the ``Settings`` a host is
judged by. Finding the file and validating it share the names of keys and the ``file:line``
every error points at.
"""
from __future__ import annotations

import fnmatch
import os
import re
import sys
from pathlib import Path

from .confine import JAIL, LIVE, MAX_BYTES, Tree
from .errors import UsageError
from .model import Severity
from .profiles import EACH_FACTS, HostProfile, ProfileIndex
from .record import Record
from .units import parse_size

CONFIG_NAMES = (".oomaudit.toml", "pyproject.toml")
DEFAULT_CRITICAL = ["ssh", "sshd"]


class Settings(Record):
    """The validated ``.oomaudit.toml`` (see ``load``), or these defaults when there is none.
    Rule patterns (``select``, ``ignore``, per-path ignores) are id prefixes in any letter
    case (``host`` selects ``HOST001``)."""

    def __init__(self, path: Path | None = None, base: Path | None = None):
        self.path = path  # the config file, if any
        self.base = Path.cwd() if base is None else base  # per-path globs are relative to this
        self.select: list[str] = []
        self.ignore: list[str] = []
        self.per_path_ignores: dict[str, list[str]] = {}
        self.severity: dict[str, Severity] = {}
        self.fail_on = Severity.LOW
        self.critical_services = list(DEFAULT_CRITICAL)
        # HOST001 alerts above these shares of RAM / swap in use (None: the rule's default)
        self.memory_alert_percent: float | None = None
        self.swap_alert_percent: float | None = None
        self.hosts: list[HostProfile] = []
        self.written: set[str] = set()  # the keys the file sets (not the defaults)
        self.baseline: Path | None = None  # baseline = "...", from the config file's folder
        self._index: ProfileIndex | None = None  # the host profiles, indexed on first use
        # a larger audited file is not read (CONF003 naming it and the cap): confine.py
        self.max_file_size = MAX_BYTES

    def rule_selected(self, rule: str) -> bool:
        def hit(patterns: list[str]) -> bool:
            return any(rule.startswith(p.upper()) for p in patterns)
        return (not self.select or hit(self.select)) and not hit(self.ignore)

    def ignored_at(self, rule: str, path: Path) -> bool:
        if not self.per_path_ignores:
            return False
        rel = relative(path, self.base)
        return any(fnmatch.fnmatchcase(rel, glob) and any(rule.startswith(i.upper()) for i in ids)
                   for glob, ids in self.per_path_ignores.items())

    def profile_for(self, path: Path) -> HostProfile | None:
        """The first ``[[hosts]]`` table, in file order, that claims the file (for an
        ``each`` table, the host of the folder it is in)."""
        if not self.hosts:  # the usual case: no identity() per file of a repository
            return None
        if self._index is None or self._index.size != len(self.hosts):
            fs = _fs()
            self._index = ProfileIndex(self.hosts, fs.identity(self.base), fs.named)
        return self._index.find(relative(path, self.base, self._index.base))


def relative(path: Path, base: Path, real_base: str | None = None) -> str:
    """``path`` from ``base`` (``real_base``: base's identity, when the caller has it), both
    resolved as the confined layer resolves them; ``path`` as given when it is not below.
    Compared as text, as ``PurePath.relative_to`` compares parts: identities are absolute
    and normalised, and a repository asks this for every file it holds."""
    fs = _fs()
    text, top = fs.identity(path), real_base or fs.identity(base)
    if text == top:
        return "."
    if text.startswith(top.rstrip("/") + "/"):
        return text[len(top.rstrip("/")) + 1:]
    return path.as_posix()


_trees: dict[str, Tree] = {}


def _fs() -> Tree:
    """The live filesystem that oomaudit's own config files (the operator's, or the
    repository's that ``check`` obeys) are read from like any audited file: without
    blocking, regular files only, capped (confine.py). One per working directory: a Tree
    names relative paths from the one it was made in, and a process that imported this
    module (a test, a library user) may have moved since."""
    cwd = os.getcwd()
    tree = _trees.get(cwd)
    if tree is None:
        tree = _trees[cwd] = Tree(Path("/"), LIVE)
    return tree


SYSTEM_CONFIG = "/etc/oomaudit.toml"
SYSTEM_CONFIG_ENV = "OOMAUDIT_SYSTEM_CONFIG"  # moves it, for tests


def system_config() -> Path | None:
    """The operator's config for ``scan``: ``/etc/oomaudit.toml`` (``$OOMAUDIT_SYSTEM_CONFIG``
    moves it), None when there is none. A scan never walks up from the working directory
    (where it happens to be started says nothing about the host), and under ``--root`` the
    tree's own config is not read: an image must not hide its own findings."""
    path = Path(os.environ.get(SYSTEM_CONFIG_ENV) or SYSTEM_CONFIG)
    return path if _fs().exists(path) or _fs().readlink(path) is not None else None


class Configs(Record):
    """The configs of a ``check``, as ruff finds them: each file is governed by the closest
    ``.oomaudit.toml`` (or ``pyproject.toml`` with ``[tool.oomaudit]``) in its folder or
    above, whatever the other targets are and in whatever order they come. Each config is
    loaded once and ``adjust`` applies the command line's overrides to it; lookups are
    cached per folder, so a repository of 10,000 files costs a few stat calls per folder."""

    def __init__(self, adjust):
        self.adjust = adjust  # Callable[[Settings], None]: --select, --ignore, --fail-on
        self.loaded: dict[Path | None, Settings] = {}  # config file (None: none) -> settings
        self._closest: dict[str, Path | None] = {}  # real folder -> its closest config
        self._folders: dict[str, Settings] = {}  # a file's folder as given -> settings

    def for_file(self, path: str | Path) -> Settings:
        folder = os.path.dirname(path) or "."
        settings = self._folders.get(folder)
        if settings is None:
            settings = self._folders[folder] = self.for_folder(folder)
        return settings

    def for_folder(self, folder: str) -> Settings:
        found = self._closest_to(_fs().identity(folder))
        settings = self.loaded.get(found)
        if settings is None:
            settings = self.loaded[found] = load(found) if found else Settings()
            self.adjust(settings)
        return settings

    def for_run(self, targets: list[str]) -> Settings:
        """What is set once per run (``fail-on``): the config closest to the targets' common
        folder, so that ``check a b`` and ``check b a`` agree; for one file, its own."""
        folders = [os.path.abspath(t if _fs().is_dir(t) else os.path.dirname(t) or ".")
                   for t in targets]
        return self.for_folder(os.path.commonpath(folders))

    def _closest_to(self, folder: str) -> Path | None:
        if folder not in self._closest:
            found = _config_in(folder)
            parent = os.path.dirname(folder)
            if found is None and parent != folder:
                found = self._closest_to(parent)
            self._closest[folder] = found
        return self._closest[folder]


def _config_in(folder: str) -> Path | None:
    """``.oomaudit.toml`` in ``folder``, else its ``pyproject.toml`` if that has our table.
    A name that is not there costs one ``lstat`` (``Tree.named``): a repository's folders
    are looked at once each, and nearly none holds a config."""
    fs = _fs()
    for name in CONFIG_NAMES:
        candidate = os.path.join(folder, name)
        if not fs.named(candidate):
            continue
        if fs.readlink(candidate) is not None:
            _refuse_links_out(folder, candidate)
        if fs.is_file(candidate) and (name != "pyproject.toml" or _has_tool_table(candidate)):
            return Path(candidate)
        if name == CONFIG_NAMES[0] and fs.exists(candidate):
            # a FIFO or a folder of that name: taken as no config, the run would go on with
            # the defaults instead of what the repository says
            raise UsageError(f"{candidate}: not a regular file; a config must be one")
    return None


def _refuse_links_out(folder: str, candidate: str) -> None:
    """A repository's config that is a link out of the repository (its git work tree, else
    its own folder) would let a pull request steer its audit from a file the change does
    not show: refused, as the confined layer refuses any link out of the repository."""
    top = next((f for f in (folder, *Path(folder).parents) if _fs().exists(Path(f, ".git"))),
               folder)
    try:
        Tree(Path(top), JAIL).real(candidate)
    except OSError as exc:
        raise UsageError(f"{candidate}: {exc.strerror}; a repository's config must be a "
                         "file of the repository") from None


def _has_tool_table(path: str) -> bool:
    try:
        return "[tool.oomaudit" in _fs().read_text(path)
    except OSError:
        return False


def location(path: Path, key: str) -> str:
    """``file:line`` of ``key`` in a loaded config file, for a problem found only once the
    rules are known (a ``select`` pattern that matches none)."""
    try:
        line = _Checker(path, _fs().read_text(path)).line_of(key)
    except OSError:
        line = None
    return f"{path}:{line}" if line else str(path)


def load(path: Path) -> Settings:
    """Read and validate one config file; every problem is a UsageError with file:line."""
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on older Pythons only
        import tomli as tomllib
    try:
        text = _fs().read(path).decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read config: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        where = f"{path}:{m.group(1)}" if m else str(path)
        msg = re.sub(r"\s*\(at line \d+, column \d+\)", "", str(exc))
        raise UsageError(f"{where}: invalid TOML: {msg}") from None
    except (ValueError, RecursionError) as exc:  # tomllib's int() and its recursive descent
        raise UsageError(_beyond_toml(path, text, exc)) from None
    if path.name == "pyproject.toml":
        data = data.get("tool", {}).get("oomaudit", {})
        if not isinstance(data, dict):
            raise UsageError(f"{path}: [tool.oomaudit] must be a table")
    return _settings(data, path, text)


def _beyond_toml(path: Path, text: str, exc: Exception) -> str:
    """What tomllib could not hold, at its line: an integer past Python's 4300 digits, or
    arrays and tables nested past its recursion."""
    if isinstance(exc, RecursionError):
        depth, deep = 0, 1
        for deep, line in enumerate(text.split("\n"), 1):  # noqa: B007 (the line it stops at)
            opens = line.count("[") + line.count("{")
            if depth + opens > 100:  # within this line at the latest
                break
            depth += opens - line.count("]") - line.count("}")
        return f"{path}:{deep}: arrays or tables nested too deep (more than 100 levels)"
    m = re.search(r"[0-9_]{4000,}", text)
    line = text.count("\n", 0, m.start()) + 1 if m else None
    where = f"{path}:{line}" if line else str(path)
    return f"{where}: a number with more digits than any setting takes (4000 or more)"


class _Checker:
    """Turns a key into ``file:line`` for messages about its value.

    A key may be written ``key = ...``, as a dotted key ``key.sub = ...`` or as a table
    header ``[key]`` / ``[tool.oomaudit.key]``; all three are found. In a pyproject.toml
    the search starts at the ``[tool.oomaudit`` header, so that ``select`` of another
    tool's table (``[tool.ruff.lint]``) is never blamed for ours.
    """

    def __init__(self, path: Path, text: str):
        self.path, self.lines = path, text.splitlines()
        self.start = 0
        if path.name == "pyproject.toml":
            self.start = next((n - 1 for n, t in enumerate(self.lines, 1)
                               if re.match(r"^\s*\[\[?\s*tool\.oomaudit\b", t)), 0)

    def line_of(self, key: str, within: int = 0) -> int | None:
        """The first line from ``within`` on (the table's own line: an inline table holds its
        keys there) that sets ``key``: at the line's start, else inside an inline table
        (``per-path-ignores = {"legacy/**" = 5}``)."""
        name = rf"[\"']?{re.escape(key)}[\"']?\s*"
        first = max(within, self.start + 1)
        for pattern in (rf"^\s*(?:\[\[?\s*(?:tool\.oomaudit\.)?)?{name}[=.\]]",
                        rf"[{{,]\s*{name}="):
            regex = re.compile(pattern)
            line = next((n for n, t in enumerate(self.lines, 1)
                         if n >= first and regex.search(t)), None)
            if line:
                return line
        return None

    def fail(self, key: str, message: str, within: int = 0) -> UsageError:
        line = self.line_of(key, within)
        where = f"{self.path}:{line}" if line else str(self.path)
        return UsageError(f"{where}: {message}")

    def strings(self, data: dict, key: str, within: int = 0) -> list[str]:
        value = data.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"'{key}' must be a list of strings", within)
        return value


_TOP_KEYS = {"select", "ignore", "per-path-ignores", "severity", "fail-on",
             "critical-services", "hosts", "memory-alert-percent", "swap-alert-percent",
             "baseline", "max-file-size"}
_HOST_KEYS = {"name", "paths", "each", "ram", "swap", "role", "process-sizes", "facts"}


def _settings(data: dict, path: Path, text: str) -> Settings:
    check = _Checker(path, text)
    for key in data:
        if key not in _TOP_KEYS:
            raise check.fail(key, f"unknown key '{key}' (known: {', '.join(sorted(_TOP_KEYS))})")
    settings = Settings(path=path, base=path.parent)
    settings.written = set(data)
    settings.select = check.strings(data, "select")
    settings.ignore = check.strings(data, "ignore")
    if "critical-services" in data:
        settings.critical_services = check.strings(data, "critical-services")
    if "baseline" in data:
        if not isinstance(data["baseline"], str) or not data["baseline"].strip():
            raise check.fail("baseline", "'baseline' must be a file name, e.g. "
                                         "\".oomaudit-baseline.json\"")
        settings.baseline = path.parent / data["baseline"]
    for key in ("memory-alert-percent", "swap-alert-percent"):
        if key in data:
            value = data[key]
            if type(value) not in (int, float) or not 0 < value <= 100:
                raise check.fail(key, f"'{key}' must be a number above 0 and at most 100 "
                                      f"(a percentage), not {value!r}")
            setattr(settings, key.replace("-", "_"), float(value))
    if "max-file-size" in data:
        value = data["max-file-size"]
        try:
            size = value if type(value) is int else parse_size(str(value))
        except ValueError as exc:
            raise check.fail("max-file-size", str(exc)) from None
        if not 0 < size <= 1 << 30:
            raise check.fail("max-file-size", "'max-file-size' must be above 0 and at most "
                                              f"1G, not {value!r}")
        settings.max_file_size = size
    if "fail-on" in data:
        try:
            settings.fail_on = Severity.parse(data["fail-on"])
        except ValueError as exc:
            raise check.fail("fail-on", str(exc)) from None
    ignores = data.get("per-path-ignores", {})
    if not isinstance(ignores, dict):
        raise check.fail("per-path-ignores", "'per-path-ignores' must be a table")
    for glob in ignores:
        settings.per_path_ignores[glob] = check.strings(ignores, glob)
    severities = data.get("severity", {})
    if not isinstance(severities, dict):
        raise check.fail("severity", "'severity' must be a table of RULE = \"level\"")
    for rule, level in severities.items():
        try:
            settings.severity[rule.upper()] = Severity.parse(level)
        except ValueError as exc:
            raise check.fail(rule, str(exc)) from None
    hosts = data.get("hosts", [])
    if not isinstance(hosts, list):
        raise check.fail("hosts", "'hosts' must be an array of tables: [[hosts]]")
    table_lines = [n for n, t in enumerate(check.lines, 1)
                   if re.match(r"^\s*\[\[\s*(tool\.oomaudit\.)?hosts\s*\]\]", t)]
    for index, table in enumerate(hosts):  # [[hosts]] tables, or an inline hosts = [{...}]
        line = table_lines[index] if index < len(table_lines) else check.line_of("hosts") or 0
        if not isinstance(table, dict):  # hosts = ["db1"]: not [[hosts]] tables
            raise check.fail("hosts", "'hosts' must be an array of tables: [[hosts]]")
        settings.hosts.append(_profile(table, index, line, check))
    return settings


def _profile(table: dict, index: int, line: int, check: _Checker) -> HostProfile:
    for key in table:
        if key not in _HOST_KEYS:
            raise check.fail(key, f"unknown key '{key}' in [[hosts]] "
                                  f"(known: {', '.join(sorted(_HOST_KEYS))})", line)
    each = _each(table, line, check)
    paths = check.strings(table, "paths", line)
    if not paths and not each:
        raise UsageError(f"{check.path}:{line}: [[hosts]] needs 'paths', e.g. [\"hosts/db1/**\"], "
                         "or 'each', e.g. \"hosts/*\" (a host per folder)")
    sizes = {}
    for key in ("ram", "swap"):
        value = table.get(key)
        try:
            sizes[key] = None if value is None else parse_size(str(value))  # ints too: 16 EiB
        except ValueError as exc:
            raise check.fail(key, str(exc), line) from None
    if sizes["ram"] == 0:
        raise check.fail("ram", "ram must be above 0 (swap = 0 is a host without swap)", line)
    for key in ("name", "role"):
        if not isinstance(table.get(key, ""), str):
            raise check.fail(key, f"'{key}' must be a string, not {table[key]!r}", line)
    facts = table.get("facts")
    if facts is not None and (not isinstance(facts, str) or not facts.strip()):
        raise check.fail("facts", "'facts' must be the file 'oomaudit facts' wrote, e.g. "
                                  "\"facts/db1.json\"", line)
    if each:  # a host per folder, named after it; facts = the file in each folder
        return HostProfile(f"each {each}", [], sizes["ram"], sizes["swap"],
                           f"{check.path}:{line}", table.get("role", ""),
                           _process_sizes(table, line, check), Path(facts or EACH_FACTS),
                           each, check.path.parent)
    name = table.get("name") or paths[0].split("/**")[0].rstrip("/*") or f"hosts[{index}]"
    return HostProfile(name, paths, sizes["ram"], sizes["swap"], f"{check.path}:{line}",
                       table.get("role", ""), _process_sizes(table, line, check),
                       check.path.parent / facts if facts else None)


def _each(table: dict, line: int, check: _Checker) -> str:
    """``each = "hosts/*"``: a folder pattern below the config's folder, matched one
    component at a time; '' when the table has none."""
    if "each" not in table:
        return ""
    each = table["each"]
    example = "e.g. \"hosts/*\": every folder in hosts/ is a host"
    if not isinstance(each, str) or not each.strip("/"):
        raise check.fail("each", f"'each' must be a folder pattern, {example}", line)
    parts = each.rstrip("/").split("/")
    if each.startswith("/") or any(p in ("", ".", "..", "**") for p in parts):
        raise check.fail("each", f"'each' is relative to this file's folder, one name or "
                                 f"pattern per folder level (no '/' first, no '.', '..' or "
                                 f"'**'), not {each!r}: {example}", line)
    for key, why in (("paths", "its hosts' files are those in each folder"),
                     ("name", "each host is named after its folder")):
        if key in table:
            raise check.fail(key, f"[[hosts]] with 'each' takes no '{key}': {why}", line)
    return each.rstrip("/")


def _process_sizes(table: dict, line: int, check: _Checker) -> dict[str, int]:
    declared = table.get("process-sizes", {})
    if not isinstance(declared, dict):
        raise check.fail("process-sizes", "'process-sizes' must be a table of service = size, "
                                          "e.g. { php-fpm = \"80M\" }", line)
    sizes = {}
    for service, value in declared.items():
        try:
            sizes[service] = parse_size(str(value))  # an integer too: above 16 EiB is refused
        except ValueError as exc:
            raise check.fail("process-sizes", f"process-sizes.{service}: {exc}", line) from None
        if sizes[service] <= 0:
            raise check.fail("process-sizes", f"process-sizes.{service}: must be above 0", line)
    return sizes
