"""Differential test: our fstab reader against util-linux ``findmnt --fstab -F FILE -J``.

Every accepted entry (all of them, not only swap) must match field by field and in
order, and the lines findmnt rejects ("parse error at line N -- ignored") must be
exactly the lines we report as CONF001.
"""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import SHARED, need_program, need_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit.parsers.fstab import parse_fstab

COLUMNS = "SOURCE,TARGET,FSTYPE,OPTIONS,FREQ,PASSNO"


def _flatten(rows):
    for row in rows:
        yield row
        yield from _flatten(row.get("children", []))


def findmnt(path: Path) -> tuple[list[tuple], set[int]]:
    exe = need_program("findmnt", "differential fstab test (util-linux)")
    proc = subprocess.run([exe, "--fstab", "-F", str(path), "-J", "-o", COLUMNS],
                          capture_output=True, timeout=30)
    stderr = proc.stderr.decode("utf-8", "replace")
    rejected = {int(n) for n in re.findall(r"parse error at line (\d+)", stderr)}
    out = proc.stdout.decode("utf-8", "replace")
    if not out.strip():  # no entry at all: findmnt prints nothing and exits 1
        assert proc.returncode == 1, stderr
        return [], rejected
    rows = json.loads(out)["filesystems"]
    # findmnt prints an empty string as null
    return [(r["source"], r["target"], r["fstype"], r["options"], int(r["freq"]),
             int(r["passno"])) for r in _flatten(rows)], rejected


def ours(data: bytes) -> tuple[list[tuple], set[int]]:
    result = parse_fstab(data.decode("utf-8", "replace"))
    entries = [(e.source or None, e.target or None, e.fstype or None, e.options or None,
                e.freq, e.passno) for e in result.entries]
    return entries, {e.line for e in result.errors}


def assert_same(path: Path) -> None:
    expected = findmnt(path)
    got = ours(path.read_bytes())
    assert got[0] == expected[0], f"entries differ for {path.read_bytes()!r}"
    assert got[1] == expected[1], f"rejected lines differ for {path.read_bytes()!r}"


# -- generated fstabs --------------------------------------------------------------------

_PLAIN = st.text(st.sampled_from("abcXYZ019/_-.:=,@+\"'#\\*"), min_size=1, max_size=8)
_ESCAPE = st.one_of(
    st.sampled_from(["\\040", "\\011", "\\134", "\\043", "\\012", "\\054", "\\303\\251"]),
    st.integers(0, 0o777).map(lambda n: f"\\{n:03o}"),
    st.sampled_from(["\\", "\\1", "\\12", "\\8", "\\x20"]),  # not escapes: kept as text
)
_TEXT_FIELD = st.lists(st.one_of(_PLAIN, _ESCAPE), min_size=1, max_size=4).map("".join)
_SOURCE = st.one_of(
    _TEXT_FIELD,
    st.sampled_from(["/dev/sda2", "/swapfile", "/dev/mapper/vg-swap", "tmpfs", "proc",
                     "//server/share", "/swap\\040file"]),
    st.builds(lambda tag, q, v, tail: f"{tag}={q}{v}{q}{tail}",
              st.sampled_from(["UUID", "LABEL", "PARTUUID", "PARTLABEL", "ID", "uuid"]),
              st.sampled_from(["", '"', "'"]), _TEXT_FIELD, st.sampled_from(["", "x", '"'])),
)
_TARGET = st.one_of(_TEXT_FIELD, st.sampled_from(["none", "swap", "/", "/home", "/mnt/a\\040b"]))
_FSTYPE = st.one_of(_TEXT_FIELD, st.sampled_from(["swap", "ext4", "xfs", "tmpfs", "udf,iso9660"]))
_OPTIONS = st.one_of(_TEXT_FIELD, st.sampled_from(
    ["sw", "defaults", "sw,pri=10", "defaults,noauto", "nofail,discard=pages", "a=\"b,c\",d"]))
_NUMBER = st.one_of(
    st.integers(-5, 5).map(str),
    st.sampled_from(["+1", "01", "1.5", "0x10", "x", "#", "-", "99999999999999999999",
                     "4294967297", "2147483648", "-99999999999999999999", "\\060"]),
)
_SEP = st.text(st.sampled_from(" \t"), min_size=1, max_size=3)


@st.composite
def fstab_line(draw) -> str:
    kind = draw(st.sampled_from(["entry"] * 6 + ["comment", "blank", "junk"]))
    lead = draw(st.text(st.sampled_from(" \t"), max_size=2))
    if kind == "comment":
        return lead + "#" + draw(st.text(st.sampled_from("ab /\t#=\\"), max_size=10))
    if kind == "blank":
        return lead
    if kind == "junk":  # too few fields, odd whitespace that is not a separator
        fields = draw(st.lists(st.one_of(_TEXT_FIELD, st.just("\x0b"), st.just("\x0c#")),
                               min_size=1, max_size=2))
    else:
        fields = [draw(_SOURCE), draw(_TARGET), draw(_FSTYPE)]
        extra = draw(st.integers(0, 4))
        if extra:
            fields.append(draw(_OPTIONS))
        fields += [draw(_NUMBER) for _ in range(max(0, extra - 1))]
    seps = [draw(_SEP) for _ in fields]
    trail = draw(st.sampled_from(["", "", " ", "\t", "\r"]))
    return lead + "".join(f + s for f, s in zip(fields, seps, strict=True)).rstrip(" \t") + trail


@st.composite
def fstab_file(draw) -> bytes:
    lines = draw(st.lists(fstab_line(), min_size=0, max_size=12))
    ending = draw(st.sampled_from(["\n", "\r\n"]))
    text = ending.join(lines)
    if lines and draw(st.booleans()):
        text += ending
    return text.encode("utf-8")


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=fstab_file())
def test_generated_fstabs_agree_with_findmnt(tmp_path, data):
    path = tmp_path / "fstab"
    path.write_bytes(data)
    assert_same(path)


# -- hand-picked quirks (each once measured against findmnt 2.38.1) ----------------------

QUIRKS = [
    b"PARTUUID=ab-01 none swap\n/swap\\040file none swap sw 0 0\n",
    b"onlyone\n/dev/sdb two\n/dev/sdc /c ext4 defaults x 2\n/dev/sdd /d ext4 defaults 1 y\n",
    b"/a#b /c ext4 defaults # trailing comment\n/d /e ext4 defaults 0 0 extra fields\n",
    b"/a /b ext4 d 99999999999999999999\n/a /c ext4 d 99999999999999999999 \n",
    b"/a /b ext4 d 4294967297 2147483648\n/a /c ext4 d 01 0x10\n",
    b"/a\\400z /t1 x\n/a\\777z /t2 x\n/a\\000z /t3 x\n/a\\12 /t4 x\n/a\\ /t5 x\n",
    b"\x0b/a /v ext4\n\x0c# not a comment\n \t # a comment\n",
    b'UUID="q1" none swap\nUUID="q3 none swap\nLABEL=\'q4\' none swap\nLABEL="my label" /x e\n',
    b"/a /b ext4 defaults 0 0\r\n/c /d xfs\r\nlast /noeol x",
]


@pytest.mark.parametrize("data", QUIRKS, ids=range(len(QUIRKS)))
def test_quirks_agree_with_findmnt(tmp_path, data):
    path = tmp_path / "fstab"
    path.write_bytes(data)
    assert_same(path)


def _realworld():
    folder = SHARED / "realworld" / "fstab"
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else ["(absent)"]


@pytest.mark.parametrize("name", _realworld())
def test_realworld_fstabs_agree_with_findmnt(name):
    folder = need_shared("realworld", "fstab")
    path = folder / name
    if not path.is_file():
        pytest.skip(f"{path} not present")
    assert_same(path)
    assert findmnt(path)[0], "every real fstab has entries"
