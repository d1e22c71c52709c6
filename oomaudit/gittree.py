"""A commit's files, read with git into a folder of ours: what ``oomaudit diff`` audits as
the BASE side, without ever checking anything out over the user's working tree.

git is run by absolute path, with an environment of our own (a ``GIT_DIR`` or
``GIT_INDEX_FILE`` left by a hook, or a pathspec setting, must not change what is read),
with ``--`` before paths and literal pathspecs. Ref names come from the command line and
are refused when they could be taken for an option.

The files are listed with ``git ls-tree`` and written from ``git cat-file --batch``, not
from ``git archive``: an archive applies the repository's ``export-ignore`` and
``export-subst`` attributes, so the BASE side would not be the commit as it is.
"""
from __future__ import annotations

import contextlib
import os
import re
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .confine import MAX_BYTES
from .errors import UsageError

_SHA = re.compile(rb"^[0-9a-f]{40}([0-9a-f]{24})?$")
_DEFAULT_BRANCHES = ("main", "master", "origin/main", "origin/master")
_FILE_MODES = {b"100644", b"100755"}
_SYMLINK = b"120000"
_KEEP_ENV = ("PATH", "HOME", "XDG_CONFIG_HOME", "SYSTEMROOT", "TMPDIR")


class Git:
    """git in one repository: ``root`` is its top-level folder (the working tree)."""

    def __init__(self, root: Path, program: str):
        self.root = root
        self.program = program

    @classmethod
    def of(cls, folder: str) -> Git:
        """The repository holding ``folder``; a UsageError when git is missing or ``folder``
        is in no git working tree."""
        import shutil

        program = shutil.which("git")
        if program is None:
            raise UsageError("diff needs git, and no 'git' program is on PATH")
        proc = _run(program, ["rev-parse", "--show-toplevel"], Path(folder))
        if proc.returncode != 0 or not proc.stdout.strip():
            raise UsageError(f"{folder}: not inside a git repository "
                             f"({_first_line(proc.stderr) or 'git rev-parse failed'})")
        return cls(Path(os.fsdecode(proc.stdout.rstrip(b"\n"))), program)

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = _run(self.program, list(args), self.root)
        if check and proc.returncode != 0:
            raise UsageError(f"git {args[0]} failed: "
                             f"{_first_line(proc.stderr) or f'exit {proc.returncode}'}")
        return proc

    def commit(self, ref: str) -> str | None:
        """The commit ``ref`` names, as a full hash; None when it names none."""
        if ref.startswith("-"):
            raise UsageError(f"{ref!r}: a revision cannot start with '-'")
        proc = self.run("rev-parse", "--verify", "--quiet", "--end-of-options",
                        f"{ref}^{{commit}}", check=False)
        sha = proc.stdout.strip()
        return sha.decode() if proc.returncode == 0 and _SHA.match(sha) else None

    def blob(self, commit: str, rel: str) -> bytes | None:
        """The file ``rel`` (relative to the root) as ``commit`` has it; None if it has none."""
        proc = self.run("cat-file", "blob", f"{commit}:{rel}", check=False)
        return proc.stdout if proc.returncode == 0 else None

    def default_base(self) -> tuple[str, str]:
        """(merge base of HEAD and the default branch, what it was found from): the default
        branch is origin/HEAD where the clone has it, else main, else master (local, then
        origin's)."""
        head = self.commit("HEAD")
        if head is None:
            raise UsageError(f"{self.root}: the repository has no commit yet; nothing to "
                             "compare with")
        proc = self.run("symbolic-ref", "--quiet", "refs/remotes/origin/HEAD", check=False)
        symbolic = proc.stdout.strip().decode(errors="replace") if proc.returncode == 0 else ""
        candidates = ([symbolic.removeprefix("refs/remotes/")] if symbolic else []) + [
            *_DEFAULT_BRANCHES]
        branch = next((name for name in candidates if self.commit(name)), None)
        if branch is None:
            raise UsageError("no default branch to compare with (no origin/HEAD, main or "
                             "master): name the base, e.g. 'oomaudit diff origin/develop'"
                             + self.shallow_hint())
        proc = self.run("merge-base", head, self.commit(branch), check=False)
        base = proc.stdout.strip()
        if proc.returncode != 0 or not _SHA.match(base):
            raise UsageError(f"HEAD and {branch} have no common ancestor: name the base"
                             + self.shallow_hint())
        return base.decode(), f"merge base of HEAD and {branch}"

    def extract(self, commit: str, paths: list[str], dest: Path, skip_dirs=frozenset()) -> int:
        """Write the files under ``paths`` (relative to the root) at ``commit`` into ``dest``,
        each at its path; returns how many. A file is cut after ``MAX_BYTES`` + 1 bytes: the
        audit reads no more and says the file is too large, as it does in the working tree.
        Folders named in ``skip_dirs`` below a path are left out, as discovery skips them."""
        listing = self.run("ls-tree", "-r", "-z", "--full-tree", commit, "--", *paths).stdout
        wanted = []
        for entry in filter(None, listing.split(b"\0")):
            meta, _, name = entry.partition(b"\t")
            mode, kind, sha = meta.split(b" ")
            rel = _safe(os.fsdecode(name), paths, skip_dirs)
            if rel is not None and kind == b"blob" and (mode in _FILE_MODES or mode == _SYMLINK):
                wanted.append((sha, rel, mode == _SYMLINK))  # not a submodule, nor a bad name
        links = []
        try:
            for (_, rel, is_link), data in zip(wanted, self._contents([w[0] for w in wanted]),
                                               strict=True):
                if is_link:
                    links.append((rel, os.fsdecode(data)))
                else:
                    _write(dest, rel, data)
            for rel, pointee in links:  # after every file, so no write goes through a link
                _link(dest, rel, self._outside(rel, pointee))
        except OSError as exc:  # a full disk, a quota: not a bug
            raise UsageError(f"could not write {commit[:12]}'s files into {dest}: "
                             f"{exc.strerror or exc}") from None
        return len(wanted)

    def _outside(self, rel: str, pointee: str) -> str:
        """A relative link that leaves the repository points where it does from the working
        tree, not to whatever lies beside the temporary folder."""
        if os.path.isabs(pointee):
            return pointee
        inside = os.path.normpath(os.path.join(os.path.dirname(rel), pointee))
        if inside == ".." or inside.startswith("../"):
            return os.path.normpath(os.path.join(self.root, os.path.dirname(rel), pointee))
        return pointee

    def shallow_hint(self) -> str:
        """Why a commit may be missing: a shallow clone has no history to find it in."""
        proc = self.run("rev-parse", "--is-shallow-repository", check=False)
        return (" (the clone is shallow: fetch the history, e.g. fetch-depth: 0 in "
                "actions/checkout or GIT_DEPTH: 0 in GitLab CI)"
                if proc.stdout.strip() == b"true" else "")

    def _contents(self, shas: list[bytes]) -> Iterator[bytes]:
        """Each object's content, in order, from one ``git cat-file --batch``: the requests
        come from a file, so git never waits for us to read while we write."""
        if not shas:
            return
        with tempfile.TemporaryFile() as requests:
            requests.write(b"\n".join(shas) + b"\n")
            requests.seek(0)
            proc = subprocess.Popen([self.program, *_CONFIG, "cat-file", "--batch"],
                                    cwd=self.root, env=_env(), stdin=requests,
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
            try:
                for _ in shas:
                    header = proc.stdout.readline().split()
                    if len(header) != 3 or not header[2].isdigit():
                        raise UsageError(f"git cat-file: unexpected answer {header!r:.80}")
                    size = int(header[2])
                    data = proc.stdout.read(min(size, MAX_BYTES + 1))
                    _discard(proc.stdout, size - len(data) + 1)  # the rest, and its newline
                    yield data
            finally:
                proc.stdout.close()
                if proc.poll() is None:
                    proc.kill()
                proc.wait()


# Settings that would make git run a program, page or prompt, whatever the user's config:
_CONFIG = ("-c", "core.fsmonitor=false", "-c", "core.pager=cat", "-c", "credential.helper=")


def _env() -> dict[str, str]:
    env = {k: os.environ[k] for k in _KEEP_ENV if k in os.environ}
    env.update(LC_ALL="C", GIT_LITERAL_PATHSPECS="1", GIT_TERMINAL_PROMPT="0",
               GIT_OPTIONAL_LOCKS="0")
    return env


def _run(program: str, args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run([program, *_CONFIG, *args], cwd=cwd, env=_env(),
                              capture_output=True, stdin=subprocess.DEVNULL, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise UsageError(f"git {args[0]}: {exc}") from None


def _first_line(data: bytes) -> str:
    from .host import terminal

    lines = data.decode(errors="replace").strip().splitlines()
    return terminal(lines[0].removeprefix("fatal: ")) if lines else ""


def _safe(name: str, paths: list[str], skip_dirs) -> str | None:
    """``name`` if it is a path a checkout could write inside the folder: no absolute path,
    no ``..``, no ``.git`` (git refuses these, a crafted tree might not), nothing below a
    skipped folder."""
    parts = name.split("/")
    if any(p in ("", ".", "..") or p.lower() == ".git" for p in parts):
        return None
    top = next((p for p in paths if p == "." or name == p or name.startswith(p + "/")), None)
    below = parts if top in (None, ".") else parts[len(top.split("/")):]
    return None if any(p in skip_dirs for p in below[:-1]) else name


def _inside(dest: Path, rel: str) -> Path | None:
    """Where ``rel`` goes, provided no folder on the way is a link or a file (a crafted tree
    holding both ``a`` as a link and ``a/b``): the real parent must be the parent as
    written. None for such a path: the first of two claims on a name wins."""
    target = dest / rel
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        return None
    return target if os.path.realpath(target.parent) == str(target.parent) else None


def _write(dest: Path, rel: str, data: bytes) -> None:
    target = _inside(dest, rel)
    if target is None:
        return
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(target, flags, 0o600)
    except (FileExistsError, IsADirectoryError):
        return
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def _link(dest: Path, rel: str, pointee: str) -> None:
    target = _inside(dest, rel)
    if target is not None and "\0" not in pointee:
        with contextlib.suppress(FileExistsError):
            os.symlink(pointee, target)


def _discard(stream, count: int) -> None:
    while count > 0:
        chunk = stream.read(min(count, 1 << 20))
        if not chunk:
            return
        count -= len(chunk)
