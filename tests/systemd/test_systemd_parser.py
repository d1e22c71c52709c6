"""The unit-file reader and the unit merger without systemd: values, layout, and fuzzing.
(test_systemd_oracle.py proves the same behaviour against systemd itself.)"""
from __future__ import annotations

import os
import re
import string
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.systemd import caps, constants, oomscore, units

from oomaudit.engine import parse_files
from oomaudit.host import ROOT, Host
from oomaudit.parsers.systemd import looks_like_unit, parse_unit
from oomaudit.parsers.systemd_names import SEARCH_PATH, dropin_owners, logical_path
from oomaudit.parsers.systemd_repo import from_files, tree_root
from oomaudit.parsers.systemd_tree import from_tree
from oomaudit.parsers.systemd_units import UnitFile
from oomaudit.parsers.systemd_values import INFINITY, parse_memory_limit, parse_oom_score_adjust

GIB = 1 << 30


@pytest.mark.parametrize("text, expected", [
    ("1G", GIB), ("1.5G", GIB * 3 // 2), ("1T", 1 << 40), ("1024K", 1 << 20), ("100", 100),
    ("1G 512M", GIB * 3 // 2), ("7B", 7), ("infinity", INFINITY), ("010K", 10240),
])
def test_memory_sizes(text, expected):
    assert parse_memory_limit("MemoryMax", text).resolve(None) == expected


@pytest.mark.parametrize("text, message", [
    ("1g", "Invalid memory limit '1g', ignoring: Invalid argument"),
    ("2G # c", "Invalid memory limit '2G # c', ignoring: Invalid argument"),
    ("1e3", "Invalid memory limit '1e3', ignoring: Invalid argument"),
    ("-1", "Invalid memory limit '-1', ignoring: Numerical result out of range"),
    ("0", "Memory limit '0' out of range, ignoring."),
    ("150%", "Invalid memory limit '150%', ignoring: Invalid argument"),
])
def test_memory_values_systemd_ignores(text, message):
    with pytest.raises(ValueError) as raised:
        parse_memory_limit("MemoryMax", text)
    assert str(raised.value) == message


def test_percent_of_ram_is_whole_pages():
    # ORACLES.md: 80% of 25276510208 bytes printed as 20221206528 by systemd
    assert parse_memory_limit("MemoryMax", "80%").resolve(25276510208) == 20221206528
    assert parse_memory_limit("MemoryMax", "80%").resolve(None) is None
    assert parse_memory_limit("MemorySwapMax", "0").nbytes == 0


@pytest.mark.parametrize("text, value", [("-1000", -1000), ("010", 8), ("0x10", 16),
                                         (" +5", 5), ("0b11", 3), ("1000", 1000)])
def test_oom_score_adjust_values(text, value):
    assert parse_oom_score_adjust(text) == value


@pytest.mark.parametrize("text, message", [
    ("1001", "OOM score adjust value out of range, ignoring: 1001"),
    ("abc", "Failed to parse the OOM score adjust value 'abc', ignoring: Invalid argument"),
    ("-500 # db", "Failed to parse the OOM score adjust value '-500 # db', ignoring: "
                  "Invalid argument"),
])
def test_oom_score_adjust_ignored(text, message):
    with pytest.raises(ValueError) as raised:
        parse_oom_score_adjust(text)
    assert str(raised.value) == message


def test_syntax_comments_continuations_and_sections():
    text = ("[Service]\nMemoryMax=1G \\\n# a comment inside the continuation\n 512M\n"
            "; comment\nno equals\n[Bogus]\nOOMScoreAdjust=1\n[X-Mine]\nx=1\n[Service]\n"
            "OOMScoreAdjust=-5\nMemoryHigh=2G\\\n")
    parsed = parse_unit(text)
    values = {(a.key, a.value, a.line) for a in parsed.assignments}
    assert values == {("MemoryMax", "1G   512M", 4), ("OOMScoreAdjust", "-5", 12),
                      ("MemoryHigh", "2G", 14)}  # EOF continuation: the next line
    assert parsed.problems == [(6, "Missing '=', ignoring line."),
                               (7, "Unknown section 'Bogus'. Ignoring.")]
    assert parsed.fatal is None


def test_bad_section_header_stops_the_unit():
    parsed = parse_unit("[Service]\nOOMScoreAdjust=1\n[Service\nMemoryMax=1G\n")
    assert parsed.fatal == (3, "Invalid section header '[Service'")
    assert [a.key for a in parsed.assignments] == ["OOMScoreAdjust"]


def test_sniffing_units_and_dropins():
    assert looks_like_unit("# override\n\n[Service]\nLimitNOFILE=1\n")
    assert looks_like_unit("\ufeff[Unit]\nDescription=x\n")
    assert not looks_like_unit("[mysqld]\nkey=1\n")
    assert not looks_like_unit("[www]\npm = dynamic\n")


_HEAD_PARTS = st.sampled_from(["[Unit]", "[Service]", "[Install]", "[Mount]", "[unit]", "\n",
                               "\r", "\r\n", "\ufeff", " ", "\t", "\v", "#", ";", "x=1",
                               "[", "]", "{{"])


@pytest.mark.parametrize("head", [
    "[Unit]", "\ufeff\ufeff [Service]\t\r\nX=1", "# a\r[Install]\rWantedBy=x\r",
    "; c\n\n\t[Service] \nMemoryMax=1G\n",
])
def test_sniff_hint_admits_what_the_sniffer_claims(head):
    assert looks_like_unit(head)
    assert re.search(constants.READER.sniff_hint, head, re.M)


@settings(max_examples=500, deadline=None)
@given(st.lists(_HEAD_PARTS, max_size=30).map("".join))
def test_sniff_hint_is_a_necessary_condition(head):
    """The registration's hint rules a file out before this sniffer is even imported, so it
    must match wherever the sniffer says yes (lines also end at a lone \\r)."""
    if looks_like_unit(head):
        assert re.search(constants.READER.sniff_hint, head, re.M), head


def test_registration_searches_the_unit_directories_the_merger_does():
    """plugins/systemd/constants.py writes SEARCH_PATH out rather than import the unit
    parser on every run; the reader must still find units where the merger looks for them."""
    assert constants.SEARCH_PATH == SEARCH_PATH


def test_dropin_directories_of_a_unit():
    assert dropin_owners("a-b-c.service") == ["a-b-c.service", "a-b-.service", "a-.service",
                                              "service"]
    assert dropin_owners("postgresql@15-main.service") == [
        "postgresql@15-main.service", "postgresql@.service", "service"]


def test_flattened_names_and_trees():
    flat = "r/TaylanUB__bg3wiki__etc__systemd__system__mariadb.service.d__override.conf"
    assert logical_path(flat) == "r/TaylanUB/bg3wiki/etc/systemd/system/mariadb.service.d/" \
                                 "override.conf"
    assert tree_root(logical_path(flat)) == "r/TaylanUB/bg3wiki"
    assert tree_root("hosts/db1/etc/systemd/system/x.service") == "hosts/db1"
    assert tree_root("roles/db/files/x.service.d/y.conf") == "roles/db/files"


def _file(path: str, text: str) -> tuple[str, UnitFile]:
    return path, UnitFile(path, path, parse_unit(text), "service")


def test_repository_merges_by_layout_and_keeps_orphan_dropins():
    units = from_files([
        _file("a/usr/lib/systemd/system/x.service", "[Service]\nExecStart=/x\nMemoryMax=1G\n"),
        _file("a/etc/systemd/system/x.service.d/10.conf", "[Service]\nMemoryMax=2G\n"),
        _file("a/usr/lib/systemd/system/x.service.d/10.conf", "[Service]\nMemoryMax=3G\n"),
        _file("b/etc/systemd/system/x.service.d/20.conf", "[Service]\nMemoryMax=4G\n"),
        _file("c/getty@tty1.service.d/override.conf", "[Service]\nOOMScoreAdjust=5\n"),
    ]).units
    assert units["a/x.service"].memory("MemoryMax").value.nbytes == 2 * GIB
    orphan = units["b/x.service"]
    assert orphan.fragment is None and not orphan.loads
    assert orphan.memory("MemoryMax").value.nbytes == 4 * GIB
    assert units["c/getty@tty1.service"].setting("OOMScoreAdjust").value == 5


def _read_with(host):
    return lambda real, inside: units.parse_source(host.read(real, constants.READER))


def test_tree_masks_shadows_and_templates(tmp_path):
    def put(rel, text):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    put("usr/lib/systemd/system/db@.service", "[Service]\nExecStart=/db\nOOMScoreAdjust=-1\n")
    put("usr/lib/systemd/system/db@.service.d/a.conf", "[Service]\nOOMScoreAdjust=-2\n")
    put("etc/systemd/system/db@main.service.d/b.conf", "[Service]\nOOMScoreAdjust=-3\n")
    put("usr/lib/systemd/system/gone.service", "[Service]\nExecStart=/x\n")
    os.symlink("/dev/null", tmp_path / "etc/systemd/system/gone.service")
    put("usr/lib/systemd/system/service.d/z.conf", "[Service]\nMemoryHigh=1G\n")
    host = Host("t", ROOT, tmp_path)
    units = from_tree(host.fs, _read_with(host))
    main = units.units["db@main.service"]
    assert main.template == "db@.service"
    assert main.setting("OOMScoreAdjust").value == -3
    assert [f.basename for f in main.dropins] == ["a.conf", "b.conf", "z.conf"]
    assert units.units["gone.service"].masked and not units.units["gone.service"].loads
    assert units.find("db@*") == [main]  # the template stands back once an instance is known


# --- fuzzing: any text in, no exception out -------------------------------------------

unit_text = st.text(alphabet=string.printable + "\ufeff‰‱é[]=\\", max_size=300)


@settings(max_examples=300, deadline=None)
@given(text=unit_text)
def test_reader_never_raises_and_reports_real_lines(text):
    parsed = parse_unit(text)
    last = len(text.splitlines()) + 1
    for line, _message in parsed.problems:
        assert 1 <= line <= last
    for a in parsed.assignments:
        assert 1 <= a.line <= last and a.key
        try:
            parse_oom_score_adjust(a.value)
        except ValueError:
            pass
        try:
            parse_memory_limit(a.key, a.value)
        except ValueError:
            pass


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(fragment=unit_text, dropin=unit_text)
def test_rules_never_raise_on_any_unit_text(tmp_path_factory, fragment, dropin):
    root = tmp_path_factory.mktemp("fuzz")
    for rel, text in (("usr/lib/systemd/system/ssh.service", fragment),
                      ("etc/systemd/system/ssh.service.d/x.conf", dropin)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    host = Host("t", ROOT, Path(root))
    host.files = [(constants.READER, p) for p in root.rglob("*") if p.is_file()]
    plugins = SimpleNamespace(errors=[])  # parse_files records a reader that raises here
    parse_files(host, plugins)
    assert plugins.errors == []
    units.budget(host)
    for check in (oomscore.check_systemd001, oomscore.check_systemd002,
                  oomscore.check_systemd003, caps.check_systemd005, caps.check_systemd006):
        list(check(host))
