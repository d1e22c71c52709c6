"""Unit tests and fuzzing for oomaudit.parsers.fstab (no findmnt needed)."""
from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.parsers.fstab import (
    FstabEntry,
    FstabError,
    commented_swaps,
    looks_like_fstab,
    parse_fstab,
    parse_tag,
    split_options,
    unescape,
)


def only(text: str) -> FstabEntry:
    result = parse_fstab(text)
    assert not result.errors and len(result.entries) == 1, result
    return result.entries[0]


def test_full_entry_and_line_numbers():
    text = "# header\n\n/dev/sda1 / ext4 defaults 0 1\n\t/swapfile\tnone\tswap\tsw,pri=10 0 0\n"
    result = parse_fstab(text)
    assert [(e.source, e.target, e.fstype, e.options, e.freq, e.passno, e.line)
            for e in result.entries] == [("/dev/sda1", "/", "ext4", "defaults", 0, 1, 3),
                                         ("/swapfile", "none", "swap", "sw,pri=10", 0, 0, 4)]
    assert result.comments == [(1, " header")]
    assert [e.source for e in result.swaps] == ["/swapfile"]


def test_missing_trailing_fields_default():
    entry = only("PARTUUID=ab-01 none swap")
    assert (entry.options, entry.freq, entry.passno) == (None, 0, 0)
    assert entry.tag == ("PARTUUID", "ab-01") and entry.is_swap


def test_octal_escapes():
    entry = only("/swap\\040file /mnt/a\\011b e\\134x o\\054p\n")
    assert (entry.source, entry.target, entry.fstype, entry.options) == (
        "/swap file", "/mnt/a\tb", "e\\x", "o,p")
    assert unescape("\\303\\251") == "é"
    assert unescape("a\\000b") == "a" and unescape("a\\400b") == "a"  # NUL ends the field
    assert unescape("a\\12") == "a\\12" and unescape("\\8") == "\\8"


def test_swap_options():
    entry = only("/dev/vdb2 none swap sw,pri=10,nofail,discard=pages 0 0")
    assert entry.priority == 10 and entry.nofail and not entry.noauto
    assert entry.option("discard") == "pages" and entry.has("sw")
    assert entry.option("missing") is None
    assert only("LABEL=myswap swap swap defaults,noauto").noauto
    assert only("/s none swap defaults").priority is None
    assert split_options('a="b,c",,d') == ('a="b,c"', "d")


def test_tags_follow_libmount():
    assert parse_tag('UUID="abc"') == ("UUID", "abc")
    assert parse_tag("LABEL='x'") == ("LABEL", "x")
    assert parse_tag('UUID="a"b"') == ("UUID", 'a"b')  # up to the last quote
    assert parse_tag('UUID="q6"x') == ("UUID", "q6")
    assert parse_tag('UUID="open') is None  # unterminated quote: a path
    assert parse_tag("uuid=x") is None and parse_tag("FOO=x") is None
    assert parse_tag("/dev/sda2") is None
    assert only('UUID="94255570" / ext4 defaults').source == 'UUID="94255570"'


def test_rejected_lines_are_errors_with_their_line():
    text = ("ok /a ext4\nonlyone\n/dev/sdb two\n/x /c ext4 defaults x 2\n"
            "/x /d ext4 defaults 1 y\n/a#b /c ext4 defaults # trailing\n\x0c# c\n")
    result = parse_fstab(text)
    assert [e.line for e in result.errors] == [2, 3, 4, 5, 6, 7]
    assert all(isinstance(e, FstabError) and e.reason for e in result.errors)
    assert "freq" in result.errors[2].reason and "passno" in result.errors[3].reason
    assert [e.line for e in result.entries] == [1]


def test_strtol_quirks():
    assert only("/a /b e d 99999999999999999999").freq == -1  # overflow, last on line
    assert parse_fstab("/a /b e d 99999999999999999999 \n").errors  # ... but not if more follows
    entry = only("/a /b e d 4294967297 2147483648")
    assert (entry.freq, entry.passno) == (1, -2147483648)
    assert only("/a /b e d +1 -2").passno == -2
    assert only("/a /b e d 0 0 extra fields").passno == 0


def test_whitespace_and_line_endings():
    result = parse_fstab("/a /b ext4 d 0 0\r\n\x0b/c /d e\n/e /f\x0cg e\nlast /noeol x")
    assert [(e.source, e.target, e.line) for e in result.entries] == [
        ("/a", "/b", 1), ("\x0b/c", "/d", 2), ("/e", "/f\x0cg", 3), ("last", "/noeol", 4)]
    assert result.entries[0].passno == 0


def test_commented_swaps():
    result = parse_fstab("#UUID=7e\tnone\t\tswap\tsw,pri=5 \t0\t0\n# a swapfile is not swap\n")
    assert [(e.source, e.line) for e in commented_swaps(result)] == [("UUID=7e", 1)]


def test_sniffer():
    assert looks_like_fstab("/dev/sda1 / ext4 defaults 0 1\n/dev/sda2 none swap sw 0 0\n")
    assert looks_like_fstab("# /etc/fstab: static file system information.\n#\n")
    assert not looks_like_fstab("vm.swappiness = 10\nvm.overcommit_memory = 2\n")
    assert not looks_like_fstab("[mysqld]\ninnodb_buffer_pool_size = 4G\n")
    assert not looks_like_fstab("[Unit]\nDescription=x\n[Service]\nExecStart=/bin/true\n")
    assert not looks_like_fstab("user www-data;\nworker_processes 4;\n")
    assert not looks_like_fstab("services:\n  db:\n    image: mysql\n")
    assert not looks_like_fstab("UUID={{ root_uuid }} / xfs defaults 0 0\n")
    assert not looks_like_fstab("")


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text):
    result = parse_fstab(text)
    lines = text.split("\n")
    for item in [*result.entries, *result.errors]:
        assert 1 <= item.line <= len(lines)
    looks_like_fstab(text)


_WORD = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\n\r"),
                min_size=1, max_size=12)


def _escape(text: str) -> str:
    """fstab's own escaping: blanks, backslash and '#' (a leading one would comment out
    the line) as three octal digits."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\\#" else c for c in text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_WORD, _WORD, _WORD, st.one_of(st.none(), _WORD),
                          st.integers(0, 9), st.integers(0, 9)), max_size=8),
       st.sampled_from([" ", "\t", "  \t "]))
def test_generated_fstabs_round_trip(rows, sep):
    lines = ["# generated"]
    for source, target, fstype, options, freq, passno in rows:
        fields = [_escape(source), _escape(target), _escape(fstype)]
        if options is not None:
            fields += [_escape(options), str(freq), str(passno)]
        lines.append(sep.join(fields))
    result = parse_fstab("\n".join(lines) + "\n")
    assert not result.errors
    expected = [(s, t, f, o, fr if o is not None else 0, p if o is not None else 0, n)
                for n, (s, t, f, o, fr, p) in enumerate(rows, 2)]
    assert [(e.source, e.target, e.fstype, e.options, e.freq, e.passno, e.line)
            for e in result.entries] == expected
