"""The transparent-huge-page mode a host runs with: live from sysfs; offline from what
sets it at boot, in the order it takes effect: the kernel command line grub writes
(``transparent_hugepage=`` in GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT of
/etc/default/grub, then /etc/default/grub.d/*.cfg, sourced in that order by
grub-mkconfig; the last ``transparent_hugepage=`` on the line wins), then tmpfiles.d
``w`` lines that write /sys/kernel/mm/transparent_hugepage/enabled after boot (units
that echo into it are not read). Nothing of these: unknown, since the default is how the
kernel was built (Debian and Ubuntu build ``madvise``, RHEL ``always``).
"""
from __future__ import annotations

import re

from oomaudit import shellwords
from oomaudit.host import Fact
from oomaudit.procfs import read_live

ENABLED = "/sys/kernel/mm/transparent_hugepage/enabled"
MODES = ("always", "madvise", "never")
GRUB_VARS = ("GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT")
TMPFILES_DIRS = ("/etc/tmpfiles.d", "/run/tmpfiles.d", "/usr/local/lib/tmpfiles.d",
                 "/usr/lib/tmpfiles.d", "/lib/tmpfiles.d")


def thp_mode(host) -> Fact | None:
    """The mode (``always``, ``madvise``, ``never``) with where it comes from; None when
    unknown."""
    return _found(host)[0]


def thp_location(host) -> tuple[str | None, int | None]:
    """The file and line that set the mode offline; (None, None) live or unknown."""
    return _found(host)[1:]


def _found(host) -> tuple[Fact | None, str | None, int | None]:
    if "vm.thp" not in host.cache:
        host.cache["vm.thp"] = (_live(host), None, None) if host.live else _offline(host)
    return host.cache["vm.thp"]


def _live(host) -> Fact | None:
    try:
        text = read_live(ENABLED)
    except FileNotFoundError:  # a kernel built without THP
        return None
    except OSError as exc:
        host.note_unreadable(f"live: {ENABLED}", exc.strerror or str(exc))
        return None
    m = re.search(r"\[(\w+)\]", text)
    return Fact(m.group(1), f"live: {ENABLED}") if m else None


def _offline(host) -> tuple[Fact | None, str | None, int | None]:
    if host.root is None:
        return None, None, None
    found = None, None, None
    for inside in ("/etc/default/grub", *_sorted(host, "/etc/default/grub.d", ".cfg")):
        text = _read(host, inside)
        if text is None:
            continue
        values = grub_values(text)
        mode = cmdline_thp(" ".join(values.get(v, ("", 0))[0] for v in GRUB_VARS))
        if mode:
            line = max(values.get(v, ("", 0))[1] for v in GRUB_VARS)
            shown = _shown(host, inside)
            found = (Fact(mode, f"{shown}:{line} (kernel command line transparent_hugepage=)"),
                     shown, line)
    for inside in _tmpfiles(host):
        for number, line in enumerate((_read(host, inside) or "").splitlines(), 1):
            words = line.split()
            if len(words) >= 7 and words[0] in ("w", "w+") and words[1] == ENABLED and \
                    words[6] in MODES:
                shown = _shown(host, inside)
                found = Fact(words[6], f"{shown}:{number} (tmpfiles.d)"), shown, number
    return found


def grub_values(text: str) -> dict[str, tuple[str, int]]:
    """GRUB_CMDLINE_LINUX(_DEFAULT) as the shell leaves them after sourcing ``text``,
    with the line that set each. Only plain assignments are read (``$VAR`` of these two
    expanded); a line the shell would run as a command is skipped."""
    values: dict[str, tuple[str, int]] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        start, chunk = i, lines[i]
        while True:
            try:
                words = shellwords.split(_uncomment(_expand(chunk, values)))
                break
            except ValueError:  # a quote closes on a later line
                i += 1
                if i >= len(lines):
                    return values
                chunk += "\n" + lines[i]
        i += 1
        if words and words[0] == "export":
            words = words[1:]
        if len(words) == 1 and "=" in words[0]:
            name, _, value = words[0].partition("=")
            if name in GRUB_VARS:
                values[name] = (value, start + 1)
    return values


def _uncomment(text: str) -> str:
    """The text without its shell comments: a ``#`` that starts a word outside quotes
    runs to the end of its line (``a#b`` is a word, as bash reads it)."""
    out, quote, i = [], "", 0
    while i < len(text):
        c = text[i]
        if quote:
            if c == quote:
                quote = ""
            elif c == "\\" and quote == '"':
                out.append(c)
                i += 1
                c = text[i] if i < len(text) else ""
        elif c in "'\"":
            quote = c
        elif c == "\\":
            out.append(c)
            i += 1
            c = text[i] if i < len(text) else ""
        elif c == "#" and (not out or out[-1] in " \t\n"):
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        out.append(c)
        i += 1
    return "".join(out)


def _expand(chunk: str, values: dict[str, tuple[str, int]]) -> str:
    def value(m: re.Match) -> str:
        return values.get(m.group(1) or m.group(2), ("", 0))[0]
    return re.sub(r"\$\{(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)\}|\$(GRUB_CMDLINE_LINUX(?:_DEFAULT)?)"
                  r"(?![A-Za-z0-9_])", value, chunk)


def cmdline_thp(cmdline: str) -> str | None:
    """The last ``transparent_hugepage=MODE`` the kernel accepts on a command line."""
    found = None
    for word in cmdline.split():
        key, _, value = word.partition("=")
        if key == "transparent_hugepage" and value in MODES:
            found = value
    return found


def _read(host, inside: str) -> str | None:
    real = host.resolve(inside)
    if real is None or not host.fs.is_file(real):
        return None
    try:
        return host.fs.read_text(real)
    except OSError as exc:
        host.note_unreadable(inside, exc.strerror or str(exc))
        return None


def _sorted(host, folder: str, suffix: str) -> list[str]:
    real = host.resolve(folder)
    if real is None or not host.fs.is_dir(real):
        return []
    try:
        return [f"{folder}/{name}" for name in host.fs.listdir(real) if name.endswith(suffix)]
    except OSError:
        return []


def _tmpfiles(host) -> list[str]:
    """tmpfiles.d files in the order systemd-tmpfiles applies them: names from every
    folder sorted, an earlier folder's file shadowing the same name later."""
    chosen: dict[str, str] = {}
    for folder in TMPFILES_DIRS:
        for inside in _sorted(host, folder, ".conf"):
            chosen.setdefault(inside.rsplit("/", 1)[1], inside)
    return [chosen[name] for name in sorted(chosen)]


def _shown(host, inside: str) -> str:
    real = host.resolve(inside)
    return str(real) if real is not None else inside
