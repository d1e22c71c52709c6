"""The option-file reader and the value evaluation on their own: no crash on any input,
CONF findings at the right line, includes, and each flavour's rules for values."""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mysql_helpers import ours
from oomaudit.plugins.mysql.constants import READER
from oomaudit.plugins.mysql.servers import servers

from oomaudit.host import FILES, Host
from oomaudit.parsers import mycnf
from oomaudit.parsers.mysql_values import Flavour, canonical, evaluate
from oomaudit.reading import Source

MARIADB = Flavour("MariaDB", (10, 11))
MYSQL8 = Flavour("MySQL", (8, 0))
MYSQL57 = Flavour("MySQL", (5, 7))


def _parse(text: str) -> mycnf.OptionFile:
    return mycnf.parse_file(Source(Path("my.cnf"), "my.cnf", text))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_parses_without_exception(text):
    parsed = _parse(text)
    assert all(p.rule == "CONF001" for p in parsed.source.problems)
    assert (parsed.fatal is None) == (not parsed.source.problems)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["", "# c", "; c", "   ", "!include x.cnf", "!bogus"]),
                max_size=6), st.sampled_from(["a=1", "  key_buffer_size = 8M", "flag"]))
def test_option_before_any_group_is_conf001_at_its_line(prelude, option):
    parsed = _parse("\n".join([*prelude, option, "[mysqld]", "b=2"]) + "\n")
    line = len(prelude) + 1
    assert [(p.rule, p.line) for p in parsed.source.problems] == [("CONF001", line)]
    assert parsed.fatal == line


def test_lines_and_values_as_the_server_cuts_them():
    parsed = _parse("[mysqld]\na = b#c\nd = \"x # y\"\ne=6 ;x\nf\ng = 'q'\nh=\\s\\t\\x\n"
                    "[mysqld] # comment\n")
    assert [i.text for i in parsed.items if i.kind == "option"] == [
        "--a=b", "--d=x # y", "--e=6 ;x", "--f", "--g=q", "--h= \t\\x"]


def test_group_without_bracket_and_include_without_path_are_fatal():
    assert _parse("[mysqld]\n[mysqld\na=1\n").fatal == 2
    assert _parse("[mysqld]\n!include   \na=1\n").fatal == 2
    assert _parse("[mysqld]\n!includefoo\na=1\n").fatal is None


def _tree(tmp_path: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _problems(host) -> list[tuple[str, str, int]]:
    return sorted((p.rule, Path(p.path).name, p.line) for s in host.sources.values()
                  for p in s.problems)


def test_include_loop_is_read_ten_deep_and_reported_once(tmp_path):
    _tree(tmp_path, {"a.cnf": f"[mysqld]\nx=1\n!include {tmp_path}/b.cnf\n",
                     "b.cnf": f"[mysqld]\n!include {tmp_path}/a.cnf\ny=2\n"})
    host, config = ours(tmp_path / "a.cnf", tmp_path)
    assert len(config.files) == 11  # levels 0..10, as mysqld reads them
    assert _problems(host) == [("CONF002", "b.cnf", 2)]


def test_include_depth_limit(tmp_path):
    files = {f"f{i}.cnf": f"[mysqld]\nv={i}\n!include {tmp_path}/f{i + 1}.cnf\n"
             for i in range(12)}
    files["f12.cnf"] = "[mysqld]\nv=12\n"
    _tree(tmp_path, files)
    host, config = ours(tmp_path / "f0.cnf", tmp_path)
    assert config.options[-1].value == "10"
    assert _problems(host) == [("CONF002", "f10.cnf", 3)]


def test_missing_include_and_includedir(tmp_path):
    _tree(tmp_path, {"my.cnf": f"[mysqld]\n!include {tmp_path}/nope.cnf\na=1\n"
                               f"!includedir {tmp_path}/nodir\nb=2\n"})
    host, config = ours(tmp_path / "my.cnf", tmp_path)
    assert _problems(host) == [("CONF002", "my.cnf", 2), ("CONF002", "my.cnf", 4)]
    assert [o.name for o in config.options] == ["a"]
    assert config.aborted.endswith("my.cnf:4")


def test_error_in_an_included_file_ends_only_that_file(tmp_path):
    _tree(tmp_path, {"my.cnf": f"[mysqld]\n!include {tmp_path}/bad.cnf\nafter=1\n",
                     "bad.cnf": "early=1\n[mysqld]\nlate=1\n"})
    host, config = ours(tmp_path / "my.cnf", tmp_path)
    assert [o.name for o in config.options] == ["after"] and not config.aborted
    assert _problems(host) == [("CONF001", "bad.cnf", 1)]


def test_world_writable_file_is_ignored(tmp_path):
    _tree(tmp_path, {"my.cnf": f"[mysqld]\n!include {tmp_path}/open.cnf\n",
                     "open.cnf": "[mysqld]\nkey_buffer_size=1G\n"})
    os.chmod(tmp_path / "open.cnf", 0o666)
    host, config = ours(tmp_path / "my.cnf", tmp_path)
    assert config.options == []
    assert _problems(host) == [("CONF001", "open.cnf", None)]


def test_a_repository_reads_each_servers_files_once_per_flavour(tmp_path, monkeypatch):
    """Finding the tops, the flavour and the server read a file with the same groups: once.
    A version group makes another flavour, whose groups are read apart."""
    names = ("etc/mysql/my.cnf", "etc/mysql/conf.d/server.cnf", "etc/mysql/other.cnf")
    _tree(tmp_path, dict(zip(names, ("[mysqld]\n!includedir /etc/mysql/conf.d\n",
                                     "[mysqld]\nmax_connections = 100\n",
                                     "[mariadb-10.6]\nmax_connections = 70\n"), strict=True)))
    host = Host("repo", FILES, None)
    host.files = [(READER, tmp_path / name) for name in names]
    host.docs["mysql"] = [mycnf.parse_file(host.read(path, READER)) for _, path in host.files]
    loads = []
    real_load = mycnf.Loader.load
    monkeypatch.setattr(mycnf.Loader, "load",
                        lambda self, tops: loads.append(tops) or real_load(self, tops))
    found = {s.config.top[0].name: (s.flavour.version, s.effective["max_connections"].value.number)
             for s in servers(host)}
    assert found == {"my.cnf": ((10, 11), 100), "other.cnf": ((10, 6), 70)}
    assert sorted(tops[0].name for tops in loads) == ["my.cnf", "other.cnf", "other.cnf",
                                                       "server.cnf"]


@pytest.mark.parametrize("flavour, text, number, error, warning", [
    (MARIADB, "4GB", 4 << 30, "", ""),
    (MYSQL8, "4GB", 4 << 30, "", ""),
    (MARIADB, "1.5M", None, "Unknown suffix '.' used for variable 'key_buffer_size' (value "
                            "'1.5M'). Legal suffix characters are: K, M, G, T, P, E", ""),
    (MYSQL8, "1.5M", None, "Unknown suffix '.' used for variable 'key_buffer_size' "
                           "(value '1.5M').", ""),
    (MARIADB, "-5", None, "Incorrect unsigned value: '-5' for key_buffer_size", ""),
    (MYSQL8, "-5", 0, "", "option 'key_buffer_size': value -5 adjusted to 0"),
    (MARIADB, "16E", 0, "", ""),  # 2^64 wraps around to 0
    (MYSQL8, "16E", None, "Incorrect unsigned integer value: '16E'.", ""),
    (MARIADB, "99999999999999999999", None,
     "Integer value out of range for uint64: '99999999999999999999' for key_buffer_size", ""),
    (MARIADB, "7000", 4096, "", ""),  # block size 4096: aligned down, silently
    (MARIADB, "", 0, "", ""),
    (MARIADB, "+5M", 5 << 20, "", ""),
])
def test_size_values_per_flavour(flavour, text, number, error, warning):
    value = evaluate("key_buffer_size", text, flavour)
    assert (value.number, value.error, value.warning) == (number, error, warning)


def test_clamping_and_plugin_variables():
    pool = evaluate("innodb_buffer_pool_size", "1M", MARIADB)
    assert (pool.number, pool.warning) == (
        2 << 20, "option 'innodb-buffer-pool-size': unsigned value 1048576 adjusted to 2097152")
    assert evaluate("innodb_buffer_pool_size", "1M", MYSQL8).number == 5 << 20
    bad = evaluate("innodb_buffer_pool_size", "1.5G", MARIADB)
    assert (bad.disables, bad.fatal) == ("InnoDB", False)
    assert evaluate("max_connections", "200000", MARIADB).number == 100000
    assert evaluate("key_buffer_size", "2M3", MARIADB).ignored == "3"


@pytest.mark.parametrize("name, flavour, expected", [
    ("key_buffer", MARIADB, "key_buffer_size"),
    ("Key-Buffer_SIZE", MARIADB, "key_buffer_size"),
    ("loose-innodb-buffer-pool-size", MARIADB, "innodb_buffer_pool_size"),
    ("max_conn", MARIADB, "max_connections"),  # matched among the early options first
    ("innodb_buffer_pool", MARIADB, None),  # ambiguous
    ("key_buffer", MYSQL57, "key_buffer_size"),
    ("key_buffer", MYSQL8, None),  # MySQL 8.0 removed prefix abbreviations
])
def test_option_names(name, flavour, expected):
    assert canonical(name, flavour) == expected


@pytest.mark.parametrize("text, expected", [
    ("[mysqld]\ndatadir=/var/lib/mysql\n", True),
    ("# x\n[client]\nsocket = /run/mysqld/mysqld.sock\n", True),
    ("[mariadb-10.11]\n", True),
    ("[ req ]\ndefault_bits = 2048\n", False),  # openssl.cnf
    ("[www]\nuser = www-data\npm = dynamic\n", False),  # a PHP-FPM pool
    ("[server]\nhost = example.org\n", False),  # some other INI file
])
def test_sniffing(text, expected):
    assert mycnf.looks_like_mycnf(text) is expected
    if expected:
        assert re.search(READER.sniff_hint, text, re.M)


def test_sniff_hint_admits_every_group_the_sniffer_knows():
    """The registration writes its hint out (it must not import the parser): each group
    header of mycnf's sniffer, in any case, must pass it."""
    groups = mycnf._HEADER.pattern.split("\\[(", 1)[1].split(")", 1)[0].split("|")
    assert "mysqld" in groups and "galera" in groups
    for group in groups:
        for name in (group.replace("[0-9.]+", "10.11"), group.upper()):
            head = f"  [{name}]\nport = 3306\n"
            if mycnf.looks_like_mycnf(head):
                assert re.search(READER.sniff_hint, head, re.M), name
