"""``oomaudit diff [BASE] [PATH...]``: what a change does to the audit of a repository.

The repository is audited twice by the same engine: at BASE (a commit, by default the
merge base of HEAD and the default branch), read with git (``oomaudit/gittree.py``) into a
temporary folder, and in the working tree; ``oomaudit/diff.py`` compares the two reports.
Both sides are audited from their repository root, so paths read the same.

Both sides are judged by the working tree's configuration and the command line's facts,
so that only the audited files make a difference: a change that raised a host's RAM in
``.oomaudit.toml`` would otherwise show as fixed findings. An edit of that configuration
still judges both sides (a new host profile must), so the report names the config files
the change edits, for review. The BASE folder gets the working tree's config files at
the same places (and its own are removed), so that whatever finds a file's config finds
the same one on both sides; a config above the repository root is copied above the BASE
folder at the same distance, and where there is none an empty one stops the search there
(a ``pyproject.toml`` left in the temporary folder's parent must not govern the audit).
"""
from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import tempfile
from pathlib import Path

from ..config import CONFIG_NAMES
from ..diff import Diff, compare
from ..errors import UsageError


def run(args: argparse.Namespace) -> int:
    from .. import __version__
    from ..diffview import VIEWS
    from ..invocation import load_registry
    from ..model import Severity
    from ..output import print_errors, wants_color, write

    if args.format not in VIEWS:
        raise UsageError(f"--format {args.format}: diff prints {', '.join(VIEWS)}")
    if args.statistics:
        raise UsageError("--statistics: diff lists what a change adds and fixes; "
                         "'oomaudit check --statistics' counts findings per rule")
    git, rels, base, label = _resolve(args.revisions_and_paths)
    root = Path(os.path.realpath(git.root))
    config = os.path.abspath(args.config) if args.config else None
    registry = load_registry(args)
    with _cwd(root):
        after, folders = _audit(args, registry, rels, root, config)
    before, base_folders = _audit_base(git, base, rels, args, registry, config)
    configs = _configs(root, folders | base_folders, config)
    diff = Diff(base, label, root, rels, configs, Severity.parse(after["fail_on"]),
                args.exit_zero, __version__)
    diff.configs_changed = [c for c in configs if not os.path.isabs(c)
                            and git.blob(base, c) != (root / c).read_bytes()]
    compare(before, after, diff)
    if args.quiet and args.format != "json":
        diff.notices = []
    write(VIEWS[args.format](diff, wants_color(args)), args.output)
    print_errors(diff.errors)
    return diff.exit_code()


def _resolve(words: list[str]):
    """(git, targets relative to the root, BASE's commit, how to name it) from ``[BASE]
    [PATH...]``: the first word is BASE when no file or directory has its name."""
    from ..gittree import Git

    ref = words[0] if words and not os.path.lexists(words[0]) else None
    targets = (words[1:] if ref is not None else words) or ["."]
    for target in targets:
        if not os.path.lexists(target):
            raise UsageError(f"{target}: no such file or directory")
    first = targets[0] if os.path.isdir(targets[0]) else os.path.dirname(targets[0]) or "."
    git = Git.of(first)
    root = Path(os.path.realpath(git.root))
    rels = [_relative(root, t) for t in targets]
    if ref is not None:
        base = git.commit(ref)
        if base is None:
            raise UsageError(f"{ref}: neither a revision of {root} nor a file or directory"
                             + git.shallow_hint())
        return git, rels, base, ref
    if words and not words[0].startswith("-") and git.commit(words[0]):
        raise UsageError(f"{words[0]}: both a revision and a path; write ./{words[0]} for "
                         "the path, or the commit's hash for the revision")
    return git, rels, *git.default_base()


def _audit_base(git, base: str, rels: list[str], args: argparse.Namespace, registry,
                config: str | None) -> tuple[dict | None, set[str]]:
    """BASE's side: its files written into a temporary folder (removed after), audited
    with the working tree's configs; (None, set()) when none of the paths existed then."""
    from ..discovery import SKIP_DIRS

    root = Path(os.path.realpath(git.root))
    with tempfile.TemporaryDirectory(prefix="oomaudit-diff-") as tmp:
        tmp = Path(os.path.realpath(tmp))
        tree, anchor, base_config = _mirror(tmp, root, config)
        git.extract(base, rels, tree, SKIP_DIRS)
        _overlay(tree, root, config)
        present = [r for r in rels if os.path.lexists(tree / r)]
        if not present:  # every path is new
            return None, set()
        with _cwd(tree):
            before, folders = _audit(args, registry, present, tree, base_config)
        return _mapped(_mapped(before, str(tree), str(root)), str(tmp), str(anchor)), folders


def _relative(root: Path, target: str) -> str:
    """``target`` relative to the repository root ("." for the root itself)."""
    real = os.path.realpath(target)
    rel = os.path.relpath(real, root)
    if rel == ".." or rel.startswith("../") or os.path.isabs(rel):
        raise UsageError(f"{target}: outside the repository {root}")
    return Path(rel).as_posix()


@contextlib.contextmanager
def _cwd(folder: Path):
    """Run a side from its root: paths in findings, fingerprints and per-path ignores are
    then the same on both sides."""
    previous = os.getcwd()
    os.chdir(folder)
    try:
        yield
    finally:
        os.chdir(previous)


def _audit(args: argparse.Namespace, registry, paths: list[str], root: Path,
           config: str | None) -> tuple[dict, set[str]]:
    """One side audited as ``oomaudit check PATHS`` from the current folder: the JSON
    report's dict, and the folders its files are in."""
    from ..invocation import audited
    from ..reporters.json_format import as_dict

    side = argparse.Namespace(**vars(args))
    side.paths, side.config, side.root = paths, config, None
    report, hosts, _, _ = audited(side, registry, "check", root)
    folders = {os.path.dirname(str(path)) or "." for host in hosts for _, path in host.files}
    return as_dict(report), folders


def _config_above(root: Path) -> Path | None:
    """The config a file of the repository falls back to when none is inside it."""
    from ..config import Configs

    if root.parent == root:
        return None
    return Configs(lambda settings: None).for_folder(str(root.parent)).path


def _mirror(tmp: Path, root: Path, config: str | None) -> tuple[Path, Path, str | None]:
    """Lay out ``tmp`` for the BASE side: (the folder BASE's files go in, the folder ``tmp``
    stands for, the --config to give BASE's audit). A config above the repository (found,
    or named by --config) is copied where it is relative to the repository."""
    given = Path(os.path.realpath(config)) if config else None
    inside = given is not None and _is_within(given, root)
    outside = None if inside else given or _config_above(root)
    anchor = outside.parent if outside and _is_within(root, outside.parent) else root.parent
    tree = tmp / root.relative_to(anchor)
    tree.mkdir(parents=True, exist_ok=True)  # the root of / is the folder itself
    base_config = config  # a --config neither in nor above the repository: as it is
    if inside:
        base_config = str(tree / given.relative_to(root))
    elif outside is not None and anchor == outside.parent:
        shutil.copyfile(outside, tmp / outside.name)
        base_config = str(tmp / outside.name) if given else None
    if not any(os.path.lexists(tmp / name) for name in CONFIG_NAMES):
        (tmp / ".oomaudit.toml").write_text("# oomaudit diff: no config above the repository\n")
    return tree, anchor, base_config


def _overlay(tree: Path, root: Path, config: str | None) -> None:
    """Replace BASE's config files with the working tree's, folder by folder, and put a
    --config that lives in the repository where BASE's audit is told to find it."""
    for folder, _, _ in os.walk(tree):
        rel = os.path.relpath(folder, tree)
        for name in CONFIG_NAMES:
            mine = os.path.join(folder, name)
            if os.path.lexists(mine) and not os.path.isdir(mine):
                os.unlink(mine)
            theirs = root / rel / name
            if theirs.is_file() and not os.path.lexists(mine):
                shutil.copyfile(theirs, mine)
    if config and _is_within(Path(os.path.realpath(config)), root):
        rel = Path(os.path.realpath(config)).relative_to(root)
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        if os.path.lexists(tree / rel):
            os.unlink(tree / rel)
        shutil.copyfile(config, tree / rel)


def _configs(root: Path, folders: set[str], config: str | None) -> list[str]:
    """The working tree's config files that govern the audited files (relative to the
    root when inside it), for the report to say what judged both sides."""
    if config:
        found = {Path(os.path.realpath(config))}
    else:
        from ..config import Configs

        configs = Configs(lambda settings: None)
        found = {configs.for_folder(str(root / folder)).path for folder in folders} - {None}
    return sorted(p.relative_to(root).as_posix() if _is_within(p, root) else str(p)
                  for p in found)


def _is_within(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _mapped(value, old: str, new: str):
    """BASE's report with the temporary folder's name put back as the repository's
    (a profile's source, a path in a message), so that the two sides read alike."""
    if isinstance(value, str):
        return value.replace(old, new)
    if isinstance(value, dict):
        return {k: _mapped(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [_mapped(v, old, new) for v in value]
    return value
