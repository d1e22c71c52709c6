"""What a command writes: the report to stdout or a file (whole or not at all), whether
it is coloured, and the one-line errors on stderr. Every command and ``diff``/``baseline``
write through here; it imports nothing of the engine, so importing it costs no plugin."""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from .errors import UsageError


def wants_color(args: argparse.Namespace, to_file: bool | None = None) -> bool:
    """--color always/never decide. Otherwise (auto) a file given with --output gets none
    (``to_file``: whether this one report goes to a file, when a run writes several);
    on stdout FORCE_COLOR set to a non-empty value turns it on even in a pipe
    (force-color.org) and even over NO_COLOR, being the narrower ask (the one a CI job
    sets for its log); NO_COLOR set to a non-empty value turns it off (no-color.org: an
    empty one does not count); else colour only on a terminal."""
    if args.color != "auto":
        return args.color == "always"
    if bool(args.output) if to_file is None else to_file:
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return not os.environ.get("NO_COLOR") and sys.stdout.isatty()


SPOOL_BYTES = 32 << 20  # a report larger than this waits in a temporary file, not in memory


def held(rendered: str | Iterable[str]) -> str | IO[str]:
    """A rendered report kept until every report of the run is made (all or none is
    written): its text, or, for a reporter that gives its text in pieces (a fleet's JSON
    report: hundreds of MiB at 100,000 files), the pieces joined while they stay under
    ``SPOOL_BYTES`` and past that written as they come into a temporary file (so a run on
    one file imports no tempfile, with shutil, bz2 and lzma behind it)."""
    if isinstance(rendered, str):
        return rendered
    pieces: list[str] = []
    size = 0
    rendered = iter(rendered)
    for piece in rendered:
        pieces.append(piece)
        size += len(piece)
        if size > SPOOL_BYTES:
            break
    else:
        return "".join(pieces)
    import tempfile

    spool = tempfile.TemporaryFile("w+", encoding="utf-8")
    spool.writelines(pieces)
    del pieces
    spool.writelines(rendered)
    return spool


def write(text: str | IO[str], output: str | None, option: str = "--output") -> None:
    """Write the report whole or not at all (see ``report_file``): a text, or what
    ``held`` spooled."""
    with report_file(output, option) as fh:
        if isinstance(text, str):
            fh.write(text)
            return
        text.seek(0)
        while piece := text.read(1 << 20):
            fh.write(piece)


@contextlib.contextmanager
def report_file(output: str | None, option: str = "--output") -> Iterator[IO[str]]:
    """Where a report is written, as it is made (``oomaudit logs`` streams its events):
    whole or not at all, a temporary file renamed into place when the block ends without
    an exception. A device or FIFO (``-o /dev/null``, ``-o /dev/stdout``) is written to,
    never replaced, and a symlink is followed, as a shell redirection would. ``-`` or None
    is standard output. ``option`` names the file in errors (``--write-baseline``).

    oomaudit runs as root from a timer: the temporary name is unpredictable and created with
    ``O_EXCL | O_NOFOLLOW`` (a link planted at it cannot make root write elsewhere, and two
    runs writing one report never collide), and a report that exists keeps its mode and
    owner (node_exporter, another user, still reads it); a new one gets the umask's."""
    if not output or output == "-":
        yield sys.stdout
        return
    target = Path(os.path.realpath(output))
    if target.exists() and not target.is_file():
        try:
            with open(target, "w", encoding="utf-8") as fh:
                yield fh
        except OSError as exc:
            raise UsageError(f"{option} {output}: {exc.strerror or exc}") from None
        return
    tmp = target.with_name(f".{target.name}.{os.urandom(6).hex()}.oomaudit-tmp")
    try:
        old = os.stat(target)
    except OSError:
        old = None
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        fd = os.open(tmp, flags, 0o666)
    except OSError as exc:
        raise UsageError(f"{option} {output}: {exc.strerror or exc}") from None
    try:
        with open(fd, "w", encoding="utf-8") as fh:
            if old is not None:
                os.fchmod(fd, old.st_mode & 0o7777)
                if (old.st_uid, old.st_gid) != (os.geteuid(), os.getegid()):
                    try:
                        os.fchown(fd, old.st_uid, old.st_gid)
                    except PermissionError:  # not root: the file becomes the writer's
                        pass
            yield fh
        os.replace(tmp, target)
    except OSError as exc:
        tmp.unlink(missing_ok=True)  # ours: O_EXCL made it
        raise UsageError(f"{option} {output}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def print_errors(errors: list[str]) -> None:
    """Each plugin, rule or file error of a run as one escaped line on stderr."""
    from .host import terminal

    for error in errors:
        print(f"oomaudit: error: {terminal(error)}", file=sys.stderr)
