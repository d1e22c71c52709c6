"""From targets to hosts: which files each format reads, and which host they belong to.

``scan`` looks where each format lives on a system (the reader's ``system_paths``)
under ``/`` or under ``--root``; ``check`` walks the given files and folders and
recognises each file by name, then by content, and groups them by host profile (a host
a named file is in is read whole: pre-commit names only the staged files).

One concern over 300 lines: the targets of a run made into hosts. Walking, recognising
and grouping share the walk's state (what was seen, what was named, which table claims
a file), and none of them is used apart.
"""
from __future__ import annotations

import errno
import fnmatch
import os
from collections import Counter
from pathlib import Path

from .config import Configs, Settings
from .confine import FOLDER, JAIL, LINK, LINKED, WILDCARDS, Refused, Tree
from .host import FILES, LIVE, ROOT, Fact, Host, printable
from .hosttree import trees
from .reading import SNIFF_BYTES, Reader
from .recognise import Recogniser
from .templates import skipped_notice

SKIP_DIRS = {".git", ".hg", ".svn", "node_modules", ".venv", "venv", "__pycache__", ".tox",
             ".mypy_cache", ".pytest_cache", ".ruff_cache"}
# A name linked to /dev/null is masked (systemd's units and drop-ins, its sysctl.d and
# tmpfiles.d): nothing is read through it, so nor do we.
MASK = "/dev/null"


def system_host(root: Path | None, readers: dict[str, Reader], settings: Settings,
                declared: dict[str, Fact]) -> Host:
    """The live host (root None) or an offline tree laid out like ``/``."""
    if root is None:
        import socket
        host = Host(socket.gethostname(), LIVE, Path("/"), settings)
    else:
        root = root.resolve()  # a folder: the command checked
        host = Host(root.name or str(root), ROOT, root, settings)
        profile = settings.profile_for(root)
        if profile:
            _apply_profile(host, profile)
    host.facts.update(declared)
    for reader in readers.values():
        seen: set[Path] = set()  # globs that overlap (redis.conf, *.conf) name a file once
        for pattern in reader.system_paths:
            for real in _glob_inside(host, pattern, reader.name):
                if real not in seen:
                    seen.add(real)
                    host.files.append((reader, real))
    return host


def _glob_inside(host: Host, pattern: str, reader: str) -> list[Path]:
    """Glob ``pattern`` (relative to ``/``) inside the host's root as a chroot would: each
    directory is resolved inside the root. A directory the audit may not list is a CONF003
    ("run as root") that skips the rules reading ``reader``'s files (``Host.unreadable``),
    and a file behind one is kept for reading to say the same."""
    found: list[Path] = []
    fs = host.fs
    null = _identity(fs, fs.inside(MASK))  # what a masked name leads to, links followed

    def walk(inside: str, parts: tuple[str, ...], matched: bool = False) -> None:
        if not parts:  # a named path is read whatever it is; a match only when no folder
            real = fs.inside(inside)
            masked = matched and null is not None and _identity(fs, real) == null
            if fs.exists(real) and not (matched and fs.is_dir(real)) and not masked:
                found.append(real)
            return
        head, rest = parts[0], parts[1:]
        if not any(c in head for c in "*?["):
            return walk(f"{inside.rstrip('/')}/{head}", rest, matched)
        folder = fs.inside(inside)
        try:
            names = fs.listdir(folder)
        except PermissionError:
            shown = host.display(folder)
            host.unreadable(reader, shown, "permission denied; run as root to audit it", shown)
            return
        except OSError:  # absent, or not a directory: nothing of this format there
            return
        for name in names:
            if fnmatch.fnmatchcase(name, head):
                walk(f"{inside.rstrip('/')}/{name}", rest, True)

    walk("/", Path(pattern.lstrip("/")).parts)
    return found


def _identity(fs, real: Path) -> tuple[int, int] | None:
    """What a path leads to, links followed inside the tree (device, inode); None when
    nothing (a tree without /dev/null has no mask to compare with)."""
    try:
        found = fs.stat(real)
    except OSError:
        return None
    return found.st_dev, found.st_ino


def file_hosts(paths: list[str], readers: dict[str, Reader], settings: Settings,
               declared: dict[str, Fact], notices: list[str],
               errors: list[str] | None = None, configs: Configs | None = None,
               root: Path | None = None, fs: Tree | None = None,
               progress=None) -> list[Host]:
    """Hosts for ``oomaudit check``: for each config that governs some of the files (the
    closest one per file with ``configs``, else ``settings`` for all), one host per host
    profile that has files, plus one for the files no profile claims (with only the
    declared facts, if any), named "default" unless a table has that name. Hosts of
    different configs that would share a name are told apart by the config's path from
    ``root`` (the repository's: host names are part of fingerprints). Each host gets the
    host tree its files lie in (``host.tree``), where absolute includes are looked up. A
    reader that fails to recognise files is named in ``errors``."""
    hosts: dict[tuple[int, str | None], Host] = {}
    fs = fs or Tree(Path("/"), JAIL)
    recognise = Recogniser(readers, errors, fs)
    named: dict[tuple[int, str], tuple[Settings, object]] = {}  # hosts with a file named

    def place(real, reader, given: bool, only=None) -> bool:
        """Put a file in its host (``only``: if that host is one of these); whether it was."""
        governing = configs.for_file(real) if configs else settings
        profile = governing.profile_for(real)
        key = profile.name if profile else None  # a table may be named "default" too
        if only is not None and (id(governing), key) not in only:
            return False
        host = hosts.get((id(governing), key))
        if host is None:
            host = hosts[id(governing), key] = Host(key or "default", FILES, None, governing,
                                                    fs)
            if profile:
                _apply_profile(host, profile)
            host.facts.update(declared)
        host.files.append((reader, real))
        if given and profile:
            named[id(governing), key] = (governing, profile)
        if progress is not None:
            progress.found_file()
        return True

    seen: set[str] = set()
    for real, reader, given in _walk(paths, recognise, notices, fs, seen):
        place(real, reader, given)
    if named:  # pre-commit names the staged files: their hosts are read whole
        _rest_of_hosts(named, hosts, place, recognise, notices, fs, seen)
    if recognise.templates:  # once for the run, however many there are
        notices.append(skipped_notice([(printable(path), fmt, printable(why))
                                       for path, (fmt, why) in recognise.templates.items()]))
    for (config, key), host in hosts.items():
        if key is None and (config, "default") in hosts:  # never one name for two hosts
            host.name = f"default ({UNCLAIMED})"
    names = Counter(host.name for host in hosts.values())
    for (_, key), host in hosts.items():
        held = trees(path for _, path in host.files)
        host.tree = held[0] if len(held) == 1 else None
        if key is None and (said := _fleet_notice(host.name, held, host.settings.path)):
            notices.append(said)
        if names[host.name] > 1:
            config = host.settings.path
            where = os.path.relpath(config, root or os.getcwd()) if config else "no config"
            host.name += f" ({printable(where)})"
    return list(hosts.values()) or [_empty_host(settings, declared)]


# what the host of the files no table claims is called beside a table named "default"
UNCLAIMED = "files no [[hosts]] table claims"
# the characters a folder pattern may hold for the notice to write it out as a value
_PASTES = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-+@/")


def _fleet_notice(name: str, held: list[Path], config: Path | None) -> str | None:
    """A notice for a host that no ``[[hosts]]`` table made but whose files lie in several
    host trees (``hosts/web1/etc/``, ``hosts/db1/etc/``): they are judged as one machine,
    one RAM for all and every service summed, which is rarely what a fleet's repository
    means. When most trees are the folders of one parent, it names the ``each`` table that
    makes each folder its own host; None for one tree or none."""
    if len(held) < 2:
        return None
    shown = ", ".join(f"{printable(str(tree))}/" for tree in held[:3])
    more = f" and {len(held) - 3} more" if len(held) > 3 else ""
    folders = [os.path.abspath(tree) for tree in held]
    common = os.path.commonpath(folders)
    base = os.path.dirname(os.path.abspath(config)) if config else os.getcwd()
    # a pattern only when most trees are the folders of one parent (hosts/web1/etc/, as a
    # fleet lays hosts out; not roles/mysql/files/etc/, a role's), and only one that pastes
    # as written: a folder's name is the repository's to choose
    siblings = 2 * sum(os.path.dirname(folder) == common for folder in folders) >= len(folders)
    where = os.path.relpath(common, base)
    pattern = "*" if where == "." else f"{where}/*"
    into = printable(str(config)) if config else "a .oomaudit.toml in the working directory"
    fix = (f'[[hosts]] each = "{pattern}" in {into} makes each folder a host of its own'
           if siblings and not where.startswith("..") and set(where) <= _PASTES else
           "a [[hosts]] table for each judges each on its own")
    return (f"host '{name}' holds {len(held)} host trees ({shown}{more}): judged as one "
            f"machine, one RAM for all and every service summed; if they are several "
            f"machines, {fix}")


def _empty_host(settings: Settings, declared: dict[str, Fact]) -> Host:
    host = Host("default", FILES, None, settings)
    host.facts.update(declared)
    return host


def _apply_profile(host: Host, profile) -> None:
    """A profile's RAM and swap on ``host``, and its facts file over them. A repository's
    facts file (``check``) is audited content: one that is no facts file is a CONF003 of
    its host, judged with the table's values, and the other hosts are audited as ever;
    under ``--root`` it is the operator's, and a usage error."""
    for key in ("ram", "swap"):
        value = getattr(profile, key)
        if value is not None:
            host.facts[key] = Fact(value, f"host profile '{profile.name}' {profile.source}")
    if profile.facts is None:
        return
    from .facts import FactsError, load, read  # measured on the host: over ram and swap

    if host.mode != FILES:
        load(profile.facts, f"{profile.source}: facts").apply(host)
        return
    try:
        read(profile.facts, host.fs).apply(host)
    except FactsError as exc:
        shown = host.display(profile.facts)
        host.note_unreadable(shown, f"{exc} (the facts file of the [[hosts]] table at "
                                    f"{printable(profile.source)}); judged with the "
                                    "table's values", shown)


def _walk(paths: list[str], recognise: Recogniser, notices: list[str], fs: Tree,
          seen: set[str]):
    """(path, reader, whether the file was named itself) of every file the targets give;
    ``seen`` holds the absolute paths walked or named: ``check repo repo/my.cnf`` reads
    my.cnf once."""
    for given in paths:
        path = Path(given)
        if fs.is_dir(path):  # the command checked that each exists
            # A folder we may not list would otherwise vanish from the audit in silence;
            # handed on with no reader, host.read reports it as CONF003 (audit is partial).
            unlisted: list[str] = []
            for name, reader in _tree(os.path.normpath(path), recognise, unlisted, fs, seen):
                yield Path(name), reader, False
            yield from ((Path(folder), None, False) for folder in unlisted)
        elif os.path.abspath(given) in seen:
            continue
        elif fs.readlink(path) == MASK:
            notices.append(f"{printable(given)}: masked (a link to {MASK}): nothing to read")
        else:
            seen.add(os.path.abspath(given))
            try:
                reader = identify(path, recognise, fs)
            except OSError:  # named on the command line: say why it was not audited (CONF003)
                yield path, None, False
                continue
            if reader:
                yield path, reader, True
            elif path.as_posix() not in recognise.templates:  # else named as a template
                notices.append(f"{printable(given)}: not a config format oomaudit reads; skipped")


def _rest_of_hosts(named, hosts, place, recognise: Recogniser, notices: list[str], fs: Tree,
                   seen: set[str]) -> None:
    """The other files of each host a ``[[hosts]]`` table makes and a named file is in: a
    host's verdicts weigh all its files (the ledger, what is left for PHP-FPM), so judging a
    staged pool file without the host's my.cnf would pass what the host cannot hold. Each
    table's folders are walked (an ``each`` host's folder, the fixed start of a ``paths``
    pattern), each once (none inside another: a file is walked once however many named
    hosts' folders hold it), and a file is taken when its config and table make one of
    the named hosts."""
    before = sum(len(hosts[key].files) for key in named)
    folders = [folder for governing, profile in named.values()
               for folder in _profile_folders(profile, governing.base)]
    for folder in _outermost(folders):
        unlisted: list[str] = []  # as in the walk: a CONF003 of the host it would be in
        for name, reader in _tree(folder, recognise, unlisted, fs, seen):
            place(Path(name), reader, False, named)
        for name in unlisted:
            place(Path(name), None, False, named)
    added = sum(len(hosts[key].files) for key in named) - before
    if added:
        shown = ", ".join(f"'{printable(hosts[key].name)}'" for key in list(named)[:3])
        more = f" and {len(named) - 3} more" if len(named) > 3 else ""
        files = "1 more file" if added == 1 else f"{added} more files"
        notices.append(f"{'host' if len(named) == 1 else 'hosts'} {shown}{more} read whole "
                       f"for the files named ({files}): a host's verdicts weigh every file "
                       "its [[hosts]] table gives it")


def _outermost(folders: list[str]) -> list[str]:
    """Each folder once, without those inside another of them; by absolute path, so a
    folder's ancestors come before it and are looked up, not compared pair by pair."""
    kept, walked = [], set()
    for folder in sorted(set(folders), key=os.path.abspath):
        parts = os.path.abspath(folder).split("/")
        if not any(("/".join(parts[:n]) or "/") in walked for n in range(1, len(parts) + 1)):
            walked.add("/".join(parts) or "/")
            kept.append(folder)
    return kept


def _profile_folders(profile, base: Path) -> list[str]:
    """Where a table's files can be: the folder each pattern names before its first
    wildcard (``hosts/db1`` of ``hosts/db1/**``), from the working directory when below it."""
    folders = []
    for pattern in profile.paths:
        parts = pattern.split("/")
        fixed = next((i for i, part in enumerate(parts) if WILDCARDS & set(part)), len(parts))
        folder = os.path.normpath(os.path.join(base, *parts[:fixed]))
        relative = os.path.relpath(folder)
        folder = folder if relative.startswith("..") else relative
        if folder not in folders:
            folders.append(folder)
    return folders


def _tree(folder: str, recognise: Recogniser, unlisted: list[str], fs: Tree, seen: set[str]):
    """(path, reader) of each recognised file below ``folder``, in sorted order, as
    strings, each file looked at once: its absolute path goes into ``seen``, and one there
    already is passed over. A repository has thousands of files and most are not ours, so
    no Path objects and no stat for them (the listing knows a folder from the rest). Paths
    below "." have no "./" in front, as the file patterns expect."""
    try:
        entries = fs.walk_entries(folder)
    except OSError:
        unlisted.append(folder)
        return
    prefix = "" if folder == "." else folder.rstrip("/") + "/"
    absolute = os.path.abspath(folder).rstrip("/") + "/"
    subfolders = []
    for name, kind in entries:
        path = prefix + name
        if kind in (FOLDER, LINKED):
            if kind == FOLDER and name not in SKIP_DIRS:  # links are not walked, as os.walk
                subfolders.append(path)
            continue
        if absolute + name in seen:
            continue
        seen.add(absolute + name)
        reader = recognise.by_name(path)
        if reader is not None and kind == LINK and fs.readlink(path) == MASK:
            continue  # masked: nothing to read (the systemd plugin lists its masks itself)
        if reader is None and recognise.sniffs:
            try:
                reader = recognise.by_content(fs.read(path, SNIFF_BYTES), path)
            except OSError:
                pass  # unreadable, not a regular file or out of the tree: not ours
        if reader:
            yield path, reader
    for sub in subfolders:
        yield from _tree(sub, recognise, unlisted, fs, seen)


def identify(path: Path, recognise: Recogniser, fs: Tree) -> Reader | None:
    """The reader for one file: by name first (cheap), then by its first 4 KiB. Raises
    OSError when the file has to be sniffed and cannot be read; what is no regular file (a
    FIFO, a device) has no content to sniff: no config, whatever its name."""
    reader = recognise.by_name(path.as_posix())
    if reader or not recognise.sniffs:
        return reader
    try:
        head = fs.read(path, SNIFF_BYTES)
    except Refused as exc:
        if exc.errno == errno.EINVAL:  # not a regular file: nothing any reader reads
            return None
        raise
    return recognise.by_content(head, path.as_posix())
