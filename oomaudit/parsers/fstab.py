"""/etc/fstab read the way util-linux libmount reads it (``findmnt --fstab``, ``swapon -a``).

Measured against findmnt 2.38.1 (tests/swap/test_fstab_findmnt.py keeps us honest):

* Lines end at ``\\n``; one ``\\r`` before it is dropped. Python's ``splitlines`` would also
  split at ``\\v``, ``\\f`` and friends, which libmount does not, so we never use it.
* A line whose first non-blank (space/tab) character is ``#`` is a comment; ``#`` anywhere
  else is data (``/a#b`` is a source, a trailing ``# note`` is a bad freq field).
* Fields are separated by spaces and tabs only. Source, target and fstype are required;
  options, freq and passno are optional (options missing means ``None``, numbers 0).
  Fields after passno are ignored.
* ``\\NNN`` (three octal digits) is one byte: ``\\040`` space, ``\\011`` tab, ``\\134``
  backslash. A byte value of 0 (``\\000``, ``\\400``) ends the field, as in C.
* freq/passno go through ``strtol``: an optional sign, decimal digits, result cast to a C
  int (4294967297 is 1). A field with trailing garbage (``1.5``, ``0x10``, ``#``) rejects
  the line, except that an out-of-range number that is the *last* thing on the line is
  accepted as -1 (libmount only checks the error flag when more text follows).
* A rejected line is skipped and reported ("parse error at line N -- ignored"); the
  other lines still count.
* ``UUID="x"``/``LABEL='x'`` keep their quotes in ``source`` (findmnt prints them) but
  are tags with the quotes stripped up to the *last* matching quote; an unterminated
  quote makes the source a plain path. Tag names are case-sensitive: ``uuid=`` is a path.

The module is pure: text in, records out, no rule logic and no I/O.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..record import Record

TAG_NAMES = ("ID", "UUID", "LABEL", "PARTUUID", "PARTLABEL")
_BLANK = " \t"
_INT_MIN, _INT_MAX = -(1 << 31), (1 << 31) - 1
_LONG_MIN, _LONG_MAX = -(1 << 63), (1 << 63) - 1


class FstabEntry(NamedTuple):
    """One accepted line. Strings are decoded (escapes applied); ``line`` is 1-based."""

    source: str
    target: str
    fstype: str
    options: str | None
    freq: int
    passno: int
    line: int

    @property
    def option_list(self) -> tuple[str, ...]:
        return split_options(self.options or "")

    def option(self, name: str) -> str | None:
        """Value of ``name=value`` (first occurrence), ``""`` for a bare flag, else None."""
        for item in self.option_list:
            key, eq, value = item.partition("=")
            if key == name:
                return value if eq else ""
        return None

    def has(self, name: str) -> bool:
        return self.option(name) is not None

    @property
    def is_swap(self) -> bool:
        """libmount's mnt_fs_is_swaparea: the fstype is exactly ``swap``."""
        return self.fstype == "swap"

    @property
    def noauto(self) -> bool:
        """``swapon -a`` skips it and systemd does not pull it into swap.target."""
        return self.has("noauto")

    @property
    def nofail(self) -> bool:
        return self.has("nofail")

    @property
    def priority(self) -> int | None:
        value = self.option("pri")
        if value is None:
            return None
        m = re.match(r"[ \t]*([+-]?\d+)", value)
        return int(m.group(1)) if m else None

    @property
    def tag(self) -> tuple[str, str] | None:
        return parse_tag(self.source)


class FstabError(NamedTuple):
    """A line libmount rejects (and skips): ``line`` 1-based, ``text`` as written."""

    line: int
    text: str
    reason: str


class Fstab(Record):
    """Every line of an fstab by what libmount makes of it: accepted entries, rejected lines
    (skipped) and comments (kept so that :func:`commented_swaps` can name a disabled swap)."""

    def __init__(self) -> None:
        self.entries: list[FstabEntry] = []
        self.errors: list[FstabError] = []
        self.comments: list[tuple[int, str]] = []  # (line, text after '#')

    @property
    def swaps(self) -> list[FstabEntry]:
        return [e for e in self.entries if e.is_swap]


def parse_tag(source: str) -> tuple[str, str] | None:
    """``(NAME, value)`` when libmount treats ``source`` as a tag (blkid_parse_tag_string
    plus mnt_valid_tagname), else None."""
    name, eq, value = source.partition("=")
    if not eq:
        return None
    if value[:1] in ("'", '"'):
        end = value.rfind(value[0], 1)
        if end < 0:
            return None  # missing closing quote: not a tag, a path
        value = value[1:end]
    return (name, value) if name in TAG_NAMES else None


def unescape(field_text: str) -> str:
    """Decode libmount's octal escapes at the byte level (``\\303\\251`` is é)."""
    if "\\" not in field_text:
        return field_text
    raw = field_text.encode("utf-8", "surrogateescape")
    out = bytearray()
    i, n = 0, len(raw)
    while i < n:
        c = raw[i]
        if c == 0x5C and i + 3 < n and all(0x30 <= b <= 0x37 for b in raw[i + 1:i + 4]):
            value = (64 * (raw[i + 1] & 7) + 8 * (raw[i + 2] & 7) + (raw[i + 3] & 7)) & 0xFF
            if value == 0:
                break  # a NUL byte ends the C string
            out.append(value)
            i += 4
        else:
            if c == 0:
                break
            out.append(c)
            i += 1
    return out.decode("utf-8", "replace")


def split_options(options: str) -> tuple[str, ...]:
    """Comma-separated options; commas inside double quotes do not split (libmount's
    mnt_optstr_next_option); empty items are dropped."""
    items, current, quoted = [], [], False
    for ch in options:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    items.append("".join(current))
    return tuple(i for i in items if i)


def _strtol(word: str) -> tuple[int, bool, str]:
    """C strtol(base 10) on ``word`` -> (value as C int, error flag, unparsed rest)."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)(\d+)", word)
    if not m:
        return 0, True, word  # no digits: end == start
    value = int(m.group(2)) * (-1 if m.group(1) == "-" else 1)
    rest = word[m.end():]
    overflow = not _LONG_MIN <= value <= _LONG_MAX
    if overflow:
        value = _LONG_MAX if value > 0 else _LONG_MIN
    as_int = ((value - _INT_MIN) & 0xFFFFFFFF) + _INT_MIN  # (int) cast of the long
    return as_int, overflow or rest != "", rest


def split_fields(line: str) -> list[str]:
    """Raw (still escaped) fields: runs of anything but space/tab."""
    return [m.group() for m in _WORD.finditer(line)]


_WORD = re.compile(r"[^ \t]+")


def parse_line(text: str, number: int) -> FstabEntry | FstabError:
    spans = list(_WORD.finditer(text))
    words = [m.group() for m in spans]
    if len(words) < 3:
        missing = ("source", "target", "fstype")[len(words)]
        return FstabError(number, text, f"only {len(words)} field{'s' * (len(words) != 1)}, "
                                        f"no {missing} (an entry needs at least source, "
                                        "target and fstype)")
    source, target, fstype = (unescape(w) for w in words[:3])
    options = unescape(words[3]) if len(words) > 3 else None
    numbers = []
    for index, name in ((4, "freq"), (5, "passno")):
        if len(words) <= index:
            numbers.append(0)
            continue
        value, error, rest = _strtol(words[index])
        # libmount only checks the error when more text (even a blank) follows the number
        if error and (rest or spans[index].end() < len(text)):
            return FstabError(number, text, f"{name} field {words[index]!r} is not a "
                                            "decimal number")
        numbers.append(value)
    return FstabEntry(source, target, fstype, options, numbers[0], numbers[1], number)


def parse_fstab(text: str) -> Fstab:
    """Every line of ``text``: entries, rejected lines and comments, each with its line."""
    result = Fstab()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()  # the final newline does not start a line
    for number, line in enumerate(lines, 1):
        if line.endswith("\r"):
            line = line[:-1]
        stripped = line.lstrip(_BLANK)
        if not stripped:
            continue
        if stripped.startswith("#"):
            result.comments.append((number, stripped[1:]))
            continue
        parsed = parse_line(line, number)
        if isinstance(parsed, FstabError):
            result.errors.append(parsed)
        else:
            result.entries.append(parsed)
    return result


def commented_swaps(fstab: Fstab) -> list[FstabEntry]:
    """Swap entries that are commented out (``#/swapfile none swap sw 0 0``): not active,
    but worth naming when a rule says there is no swap."""
    found = []
    for number, text in fstab.comments:
        parsed = parse_line(text, number)
        if isinstance(parsed, FstabEntry) and parsed.is_swap:
            found.append(parsed)
    return found


_KNOWN_FSTYPES = frozenset("""
swap ext2 ext3 ext4 xfs btrfs zfs f2fs jfs reiserfs vfat msdos exfat ntfs ntfs3 ntfs-3g
iso9660 udf auto tmpfs ramfs proc sysfs devpts devtmpfs cgroup cgroup2 debugfs securityfs
efivarfs hugetlbfs mqueue binfmt_misc nfs nfs4 cifs smbfs smb3 sshfs davfs fuse fuseblk
overlay squashfs bind none 9p virtiofs ceph glusterfs lustre nilfs2 bcachefs hfsplus
""".split())
_HEADER_HINTS = ("<file system>", "static file system information", "unconfigured fstab",
                 "/etc/fstab")


def looks_like_fstab(head: str) -> bool:
    """True when the first KiBs of a file read as an fstab: data lines are entries with a
    path-like target and numeric dump/pass, at least one names a known filesystem type,
    and at most one line in five is something else (real fstabs carry the odd pasted
    ``blkid`` line). A head of comments only counts when it has the fstab header."""
    lines = head.split("\n")
    if not head.endswith("\n") and len(head.encode("utf-8", "replace")) >= 4000:
        lines.pop()  # the sniffed head may cut the last line in half
    valid = invalid = known = 0
    hints = False
    for line in lines:
        stripped = line.rstrip("\r").lstrip(_BLANK)
        if not stripped:
            continue
        if stripped.startswith("#"):
            hints = hints or any(h in stripped.lower() for h in _HEADER_HINTS)
            continue
        words = split_fields(stripped)
        if (3 <= len(words) <= 6 and (words[1].startswith("/") or words[1] in ("none", "swap"))
                and all(re.fullmatch(r"\d+", w) for w in words[4:])):
            valid += 1
            known += any(t in _KNOWN_FSTYPES for t in words[2].split(","))
        else:
            invalid += 1
    if valid + invalid == 0:
        return hints
    return known > 0 and invalid * 4 <= valid
