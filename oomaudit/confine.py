"""The one way oomaudit touches the files it audits: resolved inside a root, opened safely.

Every read of an audited file (a config, an include, a drop-in folder, a log, a file found
by a glob or a directory listing, the repository's own config) goes through a
:class:`Tree`, so the promises hold by construction rather than by each reader's care:

- **Confined.** A path is resolved component by component inside the tree's root, the
  tree's own symlinks followed as the program would follow them. Under ``scan --root`` an
  absolute link restarts at the root and ``..`` stops there, as in a chroot. In ``check``
  the root is the repository, and a link that points out of it is *refused* (OSError
  ``EXDEV``, reported as a CONF003 naming the link), never followed: a pull request cannot
  make the CI runner read ``/etc/shadow`` into a report. The live host's root is ``/``.
- **Never blocks.** Files are opened with ``O_NONBLOCK | O_NOCTTY`` and judged by ``fstat``
  on the open descriptor, not by a ``stat`` before it: a FIFO, socket or device (or a
  symlink to ``/proc/kmsg`` where a log is expected) is refused without a read, and a file
  on ``/proc`` or ``/sys`` is refused where a config is expected (those are read with
  :func:`read_live`, by the plugins that measure the live host).
- **Bounded.** A file larger than the tree's cap is refused unread (CONF003 naming the file
  and the cap); the cap is ``max-file-size`` in the config (16 MiB by default).

Errors are ``OSError`` with a ``strerror`` fit for a CONF003 ("not a regular file (FIFO,
socket or device)", "symbolic link to outside the repository"), so callers keep the one
``except OSError`` they had. ``tests/test_architecture.py`` checks that no other module
of oomaudit or the built-in plugins opens, lists, globs or stats a path itself.

One concern over 300 lines: the boundary between the audit and the filesystem it audits
(resolving, listing, testing and opening are one check each, and a module that held one of
them apart would be a way around the others). ``invocation.jail_for`` says what the root
of a ``check`` is, ``host.inside_path`` how the audited system names a file.

The tree is assumed not to change while it is audited (an image, a checkout); the
resolution is a read of the tree, and the final open refuses a symlink it did not expect
(``O_NOFOLLOW``).
"""
from __future__ import annotations

import errno
import fnmatch
import os
import stat
from pathlib import Path, PurePosixPath
from typing import IO

from .units import format_size

MAX_BYTES = 16 << 20  # configs are small; anything larger is not read (CONF003)
MAX_SYMLINKS = 40  # the kernel's limit before ELOOP
LIVE, CHROOT, JAIL = "live", "chroot", "jail"
# kinds of walk_entries(): a folder, a link to one, a link to anything else, the rest
FOLDER, LINKED, LINK, OTHER = "folder", "linked folder", "link", "other"

_OPEN = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
WILDCARDS = frozenset("*?[")  # what makes a glob(3) component a pattern


class Refused(OSError):
    """A path the tree will not read: ``strerror`` says why, in a CONF003's words."""

    def __init__(self, code: int, why: str, path: str | os.PathLike = ""):
        super().__init__(code, why, str(path))


def not_regular(path) -> Refused:
    return Refused(errno.EINVAL, "not a regular file (FIFO, socket or device)", path)


class Tree:
    """An audited filesystem: the live host (``LIVE``, root ``/``), a tree laid out like ``/``
    (``CHROOT``: ``scan --root``) or a repository (``JAIL``: ``check``). Paths in and out are
    the real paths on this machine (``ROOT/etc/fstab``), as ``Host.resolve`` gives them."""

    def __init__(self, root: Path, kind: str, cap: int = MAX_BYTES):
        self.root = Path(os.path.abspath(root)) if kind != LIVE else Path("/")
        self.kind = kind
        self.cap = cap
        self._top = str(self.root).rstrip("/")  # "" for "/": prefixes are top + "/"
        self._base = self._top or "/"  # the root as a resolved path
        # a link's absolute target names the root as the machine sees it, maybe via a link
        self._tops = {self._top, os.path.realpath(self._base).rstrip("/")}
        self._folders: dict[str, str] = {}  # a folder's path -> where it resolves to
        self._cwd = os.getcwd().rstrip("/")  # relative paths are its; "" for "/"
        self._pseudo: set[int] | None = None  # st_dev of /proc and /sys, when live

    # -- resolution ----------------------------------------------------------------------

    def inside(self, path: str | os.PathLike, cwd: str = "/") -> Path:
        """Where ``path`` as the audited system names it (``/etc/mysql/conf.d``, or relative
        to ``cwd`` inside it) is on this machine: a chroot's resolution, clamped at the root.
        A symlink loop on the way gives the path as written under the root: reading it then
        fails with ELOOP, a CONF003 naming it, instead of every caller's own error."""
        if self.kind == LIVE:
            return Path(os.path.normpath(os.path.join(cwd, path)))
        parts = PurePosixPath(cwd, path).parts
        try:
            if ".." not in parts:  # its folders are resolved once, for every file in them
                return Path(self.real(self._top + "/" + "/".join(parts[1:]))
                            if len(parts) > 1 else self._base)
            return Path(self._walk(self._base, parts, clamp=True))
        except OSError:
            return Path(self._base, os.path.normpath("/".join(parts)).lstrip("/"))

    def real(self, path: str | os.PathLike) -> str:
        """``path`` (a real path, absolute or relative to the working directory) with every
        symlink resolved inside the tree; OSError ``EXDEV`` for a link out of a repository."""
        if self.kind == LIVE:
            return self._absolute(path)
        folder, name = self._split(path)
        return self._walk(folder, (name,), clamp=self.kind == CHROOT) if name else folder

    def _absolute(self, path: str | os.PathLike) -> str:
        """``os.path.abspath`` without a ``getcwd`` per call (a repository has thousands of
        files, each named relative to the working directory, which a run does not change)."""
        text = os.fspath(path)
        if not text.startswith("/"):
            text = f"{self._cwd}/{text}"
        if "/." in text or "//" in text or text.endswith("/"):
            text = os.path.normpath(text)
        return text

    def _split(self, path) -> tuple[str, str]:
        """(the resolved folder, the name) of a path inside the tree; ("root", "") for the
        root itself. Refuses a path that is not inside the tree."""
        text = self._absolute(path)
        if text == self._base:
            return text, ""
        if not text.startswith(self._top + "/"):
            raise Refused(errno.EXDEV, "outside the audited tree", path)
        folder, _, name = text.rpartition("/")
        return self._folder(folder or "/"), name

    def identity(self, path: str | os.PathLike) -> str:
        """What ``path`` leads to, to tell two names of one file apart (a set's key: a
        mounted file, a file another includes): ``real``, or the absolute path where it
        cannot be resolved inside the tree."""
        try:
            return self.real(path)
        except OSError:
            return self._absolute(path)

    def _folder(self, folder: str) -> str:
        """A folder's resolution, cached: a repository's files share their folders."""
        found = self._folders.get(folder)
        if found is None:
            if len(folder) <= len(self._base):
                found = self._base
            else:
                parent, _, name = folder.rpartition("/")
                found = self._walk(self._folder(parent or "/"), (name,),
                                   clamp=self.kind == CHROOT)
            self._folders[folder] = found
        return found

    def _walk(self, start: str, parts, clamp: bool) -> str:
        """Resolve ``parts`` from ``start`` (a resolved path inside the root), one component at
        a time. ``clamp``: ``..`` stops at the root and absolute links restart there (a
        chroot); otherwise leaving the root is refused (a repository)."""
        pending = list(reversed(parts))
        here = start
        hops = 0
        while pending:
            part = pending.pop()
            if part in ("/", "", "."):
                if part == "/" and clamp:
                    here = self._base
                continue
            if part == "..":
                if here == self._base:
                    if not clamp:
                        raise Refused(errno.EXDEV, "symbolic link to outside the repository",
                                      start)
                    continue
                here = here.rpartition("/")[0] or "/"
                continue
            candidate = f"{here}/{part}" if here != "/" else f"/{part}"
            try:
                target = os.readlink(candidate)
            except OSError:  # not a link, absent, or behind a folder we may not search
                here = candidate
                continue
            hops += 1
            if hops > MAX_SYMLINKS:
                raise OSError(errno.ELOOP, "too many levels of symbolic links", candidate)
            if target.startswith("/"):
                if clamp:
                    here = self._base
                elif (rest := self._below_top(target)) is not None:
                    here, target = self._base, rest
                elif (tree := self._host_tree(here, target)) is not None:
                    here = tree  # /etc/alternatives/my.cnf in the host tree around the link
                else:
                    raise Refused(errno.EXDEV, "symbolic link to outside the repository "
                                               f"({target}), not followed", candidate)
            pending.extend(reversed(PurePosixPath(target).parts))
        return here

    def _host_tree(self, here: str, target: str) -> str | None:
        """In a repository laid out like a host (etckeeper's /etc, ``hosts/web1/etc/``), an
        absolute link names the host's path (Debian's ``my.cnf`` -> ``/etc/alternatives/
        my.cnf``): it is read in the nearest folder above the link that holds the target's
        first folder, the host tree, as the host would read it. None when no folder of the
        repository does."""
        first = target.lstrip("/").split("/", 1)[0]
        if not first or first == "..":
            return None
        folder = here
        while True:
            if os.path.isdir(f"{folder.rstrip('/')}/{first}") and \
                    not os.path.islink(f"{folder.rstrip('/')}/{first}"):
                return folder
            if folder == self._base or len(folder) <= len(self._base):
                return None
            folder = folder.rpartition("/")[0] or "/"

    def _below_top(self, target: str) -> str | None:
        """An absolute link target's part below the root ("" for the root), or None."""
        for top in self._tops:
            if target == top or target.startswith(top + "/"):
                return target[len(top):]
        return None

    # -- what a path is ------------------------------------------------------------------

    def stat(self, path: str | os.PathLike) -> os.stat_result:
        """``stat`` of what ``path`` resolves to inside the tree (OSError when absent)."""
        return os.stat(self.real(path))

    def is_file(self, path) -> bool:
        return self._mode(path, stat.S_ISREG)

    def is_dir(self, path) -> bool:
        return self._mode(path, stat.S_ISDIR)

    def exists(self, path) -> bool:
        """False only when ``path`` is known to be absent (or out of the tree). Behind a
        folder the audit may not search it may be there: reading it then names it as
        unreadable (CONF003, "run as root") instead of passing it by."""
        try:
            self.stat(path)
        except Refused:
            return False
        except PermissionError:
            return True
        except OSError as exc:
            return exc.errno not in (errno.ENOENT, errno.ENOTDIR)
        return True

    def _unfollowed(self, path) -> str:
        """``path`` with its folder resolved and its last name as it is (a link not followed)."""
        text = self._absolute(path)
        if self.kind == LIVE:
            return text
        folder, _, name = text.rpartition("/")
        return f"{self._folder(folder or '/')}/{name}"

    def named(self, path) -> bool:
        """Whether a name is in its folder, link or not: one ``lstat``, where ``exists``
        resolves and stats (configs are looked for in every folder of a repository)."""
        try:
            os.lstat(self._unfollowed(path))
        except OSError:  # absent, or behind a folder it may not search, as is_file says
            return False
        return True

    def _mode(self, path, test) -> bool:
        try:
            return test(self.stat(path).st_mode)
        except (OSError, ValueError):
            return False

    def readlink(self, path) -> str | None:
        """The target of ``path`` when it is itself a symlink (a unit masked by a link to
        ``/dev/null``), else None. The link is read, never followed."""
        try:
            return os.readlink(self._unfollowed(path))
        except OSError:
            return None

    # -- folders -------------------------------------------------------------------------

    def listdir(self, path) -> list[str]:
        """A folder's names, sorted by their bytes (as ``glob(3)`` in the C locale and
        systemd sort them). OSError when it is not a folder or may not be listed."""
        fd = os.open(self.real(path), os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            return sorted(os.listdir(fd), key=os.fsencode)
        finally:
            os.close(fd)

    def walk_entries(self, path) -> list[tuple[str, str]]:
        """A folder's (name, kind) sorted by name, for walking a repository: ``FOLDER`` for a
        subfolder, ``LINKED`` for a link to a folder (not walked into, as ``os.walk`` does
        not), ``LINK`` for any other link (one may be masked: to /dev/null), ``OTHER`` for
        the rest; the listing knows which without a stat per name."""
        found = []
        with os.scandir(self.real(path)) as listing:
            for entry in listing:
                try:
                    link = entry.is_symlink()
                    kind = (LINKED if link else FOLDER) if entry.is_dir() \
                        else LINK if link else OTHER
                except OSError:  # unknown: a link, as far as a caller needs to look
                    kind = LINK
                found.append((entry.name, kind))
        found.sort()
        return found

    def glob(self, pattern: str | os.PathLike, folders: bool = False) -> list[Path]:
        """``glob(3)`` inside the tree, as the programs that take include globs call it
        (php-fpm, nginx, Apache, redis): each component with ``*?[`` is matched against a
        listing, names starting with a dot only by a pattern starting with one, results in
        byte order. Folders are left out unless ``folders``; an absent or unlistable folder
        matches nothing. A link out of a repository raises ``Refused``. The root's own path
        is literal (a tree in ``/tmp/run[1]/`` holds no pattern the program would see)."""
        text = self._absolute(pattern)
        parts = text.split("/")[1:]
        literal = self._top.count("/") if text.startswith(self._top + "/") else 0
        magic = next((i for i, part in enumerate(parts)
                      if i >= literal and WILDCARDS & set(part)), None)
        if magic is None:
            return [Path(text)] if self.exists(text) and (folders or not self.is_dir(text)) \
                else []
        found: list[str] = []
        self._glob("/" + "/".join(parts[:magic]), parts[magic:], found, folders)
        return [Path(p) for p in found]

    def _glob(self, here: str, rest: list[str], found: list[str], folders: bool) -> None:
        head, tail = rest[0], rest[1:]
        if not WILDCARDS & set(head):
            path = f"{here.rstrip('/')}/{head}"
            if tail:
                self._glob(path, tail, found, folders)
            elif self.exists(path) and (folders or not self.is_dir(path)):
                found.append(path)
            return
        try:
            names = self.listdir(here)
        except Refused:
            raise
        except OSError:
            return
        for name in names:
            if name.startswith(".") and not head.startswith("."):
                continue
            if not fnmatch.fnmatchcase(name, head):
                continue
            path = f"{here.rstrip('/')}/{name}"
            if tail:
                if self.is_dir(path):
                    self._glob(path, tail, found, folders)
            elif folders or not self.is_dir(path):
                found.append(path)

    # -- reading -------------------------------------------------------------------------

    def read(self, path, limit: int | None = None) -> bytes:
        """The whole file, or its first ``limit`` bytes (a sniff). Refuses what is not a
        regular file, a file of ``/proc`` or ``/sys`` where a config is expected, and a file
        over the cap (``limit`` None), each as an OSError naming why."""
        fd = self._open(path)
        try:
            info = self._judged(fd, path, "config")
            if limit is None and info.st_size > self.cap:
                raise Refused(errno.EFBIG, f"larger than {format_size(self.cap)}, not read", path)
            if limit is not None:  # a regular file's read returns all it asks up to its end
                data = os.read(fd, limit)
            else:  # its size and one byte more: a short read is the end, in one call
                chunks = [os.read(fd, info.st_size + 1)]
                got = len(chunks[0])
                while got > info.st_size and chunks[-1] and got <= self.cap:  # it grew
                    chunks.append(os.read(fd, self.cap + 1 - got))
                    got += len(chunks[-1])
                data = b"".join(chunks)
        finally:
            os.close(fd)
        if limit is None and len(data) > self.cap:  # grew, or a size fstat does not know
            raise Refused(errno.EFBIG, f"larger than {format_size(self.cap)}, not read", path)
        return data

    def open_stream(self, path, kind: str) -> IO[bytes]:
        """A regular file to read as a stream, in bounded memory and so without the cap (a
        kernel log of gigabytes), refused as ``read`` refuses: ``kind`` names what was
        expected ("log") in the refusal of a /proc file."""
        fd = self._open(path)
        try:
            self._judged(fd, path, kind)
            return os.fdopen(fd, "rb")
        except BaseException:
            os.close(fd)
            raise

    def _judged(self, fd: int, path, kind: str) -> os.stat_result:
        """``fstat`` of the open descriptor, before any read: a regular file, not of /proc."""
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError(errno.EISDIR, "not a regular file (a folder)", str(path))
            raise not_regular(path)
        if self.kind == LIVE and info.st_dev in self._pseudo_devices():
            raise Refused(errno.EINVAL, f"a file of /proc or /sys, not a {kind}", path)
        return info

    def read_text(self, path) -> str:
        """``read`` decoded as config programs see bytes: valid UTF-8 kept, the rest
        replaced (values that matter to us are ASCII)."""
        return self.read(path).decode("utf-8", errors="replace")

    def _open(self, path) -> int:
        """The file's descriptor. Inside a root, the name is opened with ``O_NOFOLLOW`` in its
        resolved folder: a plain file (nearly all) costs no ``readlink``; a link fails with
        ELOOP and is then resolved inside the tree and opened again."""
        if self.kind == LIVE:
            return self._opened(path, os.fspath(path), _OPEN)
        folder, name = self._split(path)
        flags = _OPEN | os.O_NOFOLLOW
        try:
            return os.open(f"{folder.rstrip('/')}/{name}", flags)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise _why(path, exc, flags) from None
        return self._opened(path, self._walk(folder, (name,), clamp=self.kind == CHROOT),
                            flags | os.O_NOFOLLOW)

    @staticmethod
    def _opened(path, real: str, flags: int) -> int:
        try:
            return os.open(real, flags)
        except OSError as exc:
            raise _why(path, exc, flags) from None

    def _pseudo_devices(self) -> set[int]:
        if self._pseudo is None:
            self._pseudo = set()
            for folder in ("/proc", "/sys"):
                try:
                    self._pseudo.add(os.stat(folder).st_dev)
                except OSError:
                    pass
        return self._pseudo


def _why(path, exc: OSError, flags: int) -> OSError:
    """An open's error in a CONF003's words where ours are clearer."""
    if exc.errno == errno.ELOOP and flags & os.O_NOFOLLOW:  # a link where we resolved none
        return Refused(errno.ELOOP, "a symbolic link that changed while read", path)
    if exc.errno == errno.ENXIO:  # a socket, or a FIFO with no writer under O_NONBLOCK
        return not_regular(path)
    return exc
