"""The postgresql.conf reader on its own: tokens, statements, includes through a host,
never an exception on any input, and the content sniffer on the real-world corpus."""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import need_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.postgresql.constants import READER

from oomaudit import Severity
from oomaudit.host import FILES, LIVE, ROOT, Host
from oomaudit.parsers import pgcluster, pgconf, pgguc
from oomaudit.parsers.linescan import numbered


def kinds(text: str) -> list[tuple[str, str]]:
    return [(t.kind, t.text) for t in pgconf.lex(text) if t.kind != pgconf.EOL]


@pytest.mark.parametrize("text, expected", [
    ("1.5GB", [("REAL", "1.5"), ("ID", "GB")]),
    ("1e3", [("INTEGER", "1e"), ("INTEGER", "3")]),
    ("64MB", [("INTEGER", "64MB")]),
    ("0x1FGB", [("INTEGER", "0x1FGB")]),
    ("a.b", [("QUALIFIED_ID", "a.b")]),
    ("a.b.c", [("UNQUOTED_STRING", "a.b.c")]),
    ("/var/x", [("ERROR", "/"), ("UNQUOTED_STRING", "var/x")]),
    ("'it''s' # c", [("STRING", "'it''s'")]),
    ("'open", [("ERROR", "'"), ("ID", "open")]),
    (".", [("REAL", ".")]),
    ("\f", [("ERROR", "\f")]),
])
def test_lexer_longest_match(text, expected):
    assert kinds(text) == expected


def test_statements_and_syntax_errors():
    statements, problems = pgconf.parse_text(
        "shared_buffers = 1.5GB\nwork_mem '8MB'\n\n= 1\nmax_connections\nx = 'a\\tb\\101'\n")
    assert [(s.name, s.value, s.line) for s in statements] == [
        ("work_mem", "8MB", 2), ("x", "a\tbA", 6)]
    assert [(p.line, p.near) for p in problems] == [(1, "GB"), (4, "="), (5, None)]
    assert problems[0].message("f") == 'syntax error in file "f" line 1, near token "GB"'


def test_too_many_errors_abandon_the_file():
    _, problems = pgconf.parse_text("?\n" * 150 + "work_mem = 1MB\n")
    assert len(problems) == pgconf.MAX_ERRORS


def load(tmp_path: Path, files: dict[str, str], mode=LIVE, main="postgresql.conf"):
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    host = Host("t", mode, Path("/") if mode == LIVE else (tmp_path if mode == ROOT else None))
    real = tmp_path / main
    source = host.read(real)
    config = pgcluster.load(host, source)
    return config, [f for s in host.sources.values() for f in s.problems]


def test_depth_limit_and_self_include(tmp_path):
    config, problems = load(tmp_path, {"postgresql.conf": "include 'postgresql.conf'\n"})
    assert config.fatal and problems[0].rule == "CONF002"
    assert "recursion" in problems[0].message and problems[0].line == 1
    config, problems = load(tmp_path, {"postgresql.conf": "include 'a.conf'\n",
                                       "a.conf": "include 'postgresql.conf'\n"})
    assert config.fatal
    assert any("maximum nesting depth exceeded" in p.message for p in problems)


def test_data_directory_auto_conf_under_root(tmp_path):
    """Under --root the data directory the config names resolves inside the tree."""
    config, problems = load(tmp_path, {
        "etc/postgresql/14/main/postgresql.conf":
            "data_directory = '/srv/pg'\nshared_buffers = 1GB\n",
        "srv/pg/postgresql.auto.conf": "shared_buffers = '2GB'\n",
        "srv/pg/PG_VERSION": "14\n",
    }, mode=ROOT, main="etc/postgresql/14/main/postgresql.conf")
    assert not problems
    assert config.bytes("shared_buffers") == 2 << 30
    assert config.version == 14 and config.cluster == "14/main"
    assert config.value("hash_mem_multiplier") == 1.0  # PostgreSQL 14's default
    assert config.data_directory == "/srv/pg"


def test_config_repo_never_reads_absolute_paths(tmp_path):
    """``check``: an absolute data_directory or include names nothing in a repository."""
    config, problems = load(tmp_path, {
        "postgresql.conf": "data_directory = '/var/lib/postgresql/15/main'\n"
                           "include '/etc/postgresql/common.conf'\n"
                           "include_dir 'conf.d'\n",
    }, mode=FILES)
    assert len(config.files) == 1
    assert [(p.rule, p.severity) for p in problems] == [("CONF002", Severity.LOW)]


def test_derived_values():
    config = pgcluster.PgConfig(source=None, values=pgguc.defaults())
    assert config.bytes("wal_buffers") == 16384 // 32 * 8192  # 4 MB for 128 MB of buffers
    config.values["shared_buffers"] = 1 << 20  # 8 GB: capped at one 16 MB segment
    assert config.bytes("wal_buffers") == 16 << 20
    assert config.bytes("autovacuum_work_mem") == config.bytes("maintenance_work_mem")


# -- never raises ------------------------------------------------------------------------

_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=300)
_CONFIGISH = st.lists(st.sampled_from([
    "shared_buffers", "=", " ", "'", "''", "\\", "1.5", "GB", "kB", "0x", "#", "\n", "\r",
    "include", "include_dir", "include_if_exists", "'conf.d'", "'a.conf'", "work_mem",
    "-1", "e", ".", "é", "\t", "max_connections", "'x.conf'"]), max_size=40).map("".join)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _CONFIGISH))
def test_parse_text_never_raises(text):
    statements, problems = pgconf.parse_text(text)
    lines = text.count("\n") + 1
    assert all(1 <= p.line <= lines for p in problems)
    assert all(1 <= s.line <= lines for s in statements)
    pgconf.looks_like_postgresql(text)


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _CONFIGISH))
def test_a_token_is_the_longest_match_of_any_rule(text):
    """lex tries only the rules a token's first character can start: the tokens flex's
    longest match over every rule gives (ties to the earlier rule)."""
    expected, line = [], 1
    for piece in text.split("\n"):
        pos = 0
        while pos < len(piece):
            if piece[pos] in " \t\r":
                pos += 1
                continue
            if piece[pos] == "#":
                break
            ends = [(m.end(), -i, kind) for i, (kind, rule) in enumerate(pgconf._RULES)
                    if (m := rule.match(piece, pos))]
            end, _, kind = max(ends, default=(pos + 1, 0, pgconf.ERROR))
            expected.append((kind, piece[pos:end], line))
            pos = end
        expected.append((pgconf.EOL, "\n", line))
        line += 1
    assert list(pgconf.lex(text)) == expected[:-1]


@settings(max_examples=300, deadline=None)
@given(st.one_of(_TEXT, _CONFIGISH))
def test_a_file_reads_as_its_lines_each_read_alone(text):
    """parse_text lexes only the lines that hold a token (one scan passes over comments and
    blanks): the same statements and problems, numbered alike, as each line read alone, and
    a line passed over is one the lexer finds no token in."""
    statements, problems = [], []
    read = dict(numbered(pgconf._CONTENT, text))
    for number, line in enumerate(text.split("\n"), 1):
        assert read.get(number, line) == line
        assert number in read or list(pgconf.lex(line)) == [], repr(line)
        alone, rejected = pgconf.parse_text(line)
        statements += [s._replace(line=number) for s in alone]
        problems += [p._replace(line=number) for p in rejected]
    assert pgconf.parse_text(text) == (statements, problems[:pgconf.MAX_ERRORS])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(pgguc.PARAMS)), _TEXT)
def test_values_never_raise_anything_but_invalid_value(name, text):
    try:
        value = pgguc.evaluate(name, text, pgguc.defaults())
    except pgguc.InvalidValue as exc:
        assert str(exc)
    else:
        param = pgguc.PARAMS[name]
        assert param.min <= value <= param.max or name in ("wal_buffers",
                                                           "autovacuum_work_mem")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.dictionaries(st.sampled_from(["postgresql.conf", "a.conf", "conf.d/b.conf",
                                        "postgresql.auto.conf"]),
                       st.one_of(_CONFIGISH, _TEXT), min_size=1))
def test_load_never_raises(tmp_path_factory, files):
    files.setdefault("postgresql.conf", "include_dir 'conf.d'\n")
    if "\0" in files["postgresql.conf"]:
        files["postgresql.conf"] = "include_dir 'conf.d'\n"  # binary: never handed to us
    config, problems = load(tmp_path_factory.mktemp("pg"), files)
    assert all(p.rule in ("CONF001", "CONF002") for p in problems)
    assert config.fatal or not [p for p in problems if p.severity is None]


# -- recognising the format --------------------------------------------------------------

def test_sniffer_on_the_corpus():
    corpus = need_shared("realworld")
    for path in sorted(corpus.glob("*/*")):
        head = path.read_bytes()[:4096].decode("utf-8", "replace")
        claimed = pgconf.looks_like_postgresql(head)
        if path.parent.name != "postgresql":
            assert not claimed, path  # sysctl, php-fpm, nginx, apache, mysql, templates
        elif b"%%" not in path.read_bytes():  # %%PLACEHOLDER%% values: a template
            assert claimed, path


def test_sniff_hint_admits_every_name_the_sniffer_looks_for():
    """The registration writes its hint out (it must not import the parser): the sniffer
    wants a statement naming one of these, in any case, or the stock header, so each must
    pass the hint."""
    for name in sorted(pgconf._PG_NAMES):
        for text in (f"{name} = 1\n", f"# notes\n \t{name.upper()}='1'\n"):
            assert pgconf.looks_like_postgresql(text), text
            assert re.search(READER.sniff_hint, text, re.M), text
    for header in ("# PostgreSQL configuration file\n", "# POSTGRESQL CONFIGURATION FILE\n",
                   "x = 1  # postgresql Configuration file\n"):
        assert pgconf.looks_like_postgresql(header), header
        assert re.search(READER.sniff_hint, header, re.M), header


def test_unknown_parameter_is_fatal_on_a_known_version(oomaudit, tmp_path):
    """PostgreSQL 15 refuses a name it does not know (a typo), but accepts a custom
    placeholder with a prefix; names are only checked when the version is known."""
    cluster = tmp_path / "data"
    cluster.mkdir()
    (cluster / "postgresql.conf").write_text(
        "shared_bufers = 1GB\nmyext.enabled = on\nsort_mem = 4MB\n")
    proc = oomaudit("check", cluster / "postgresql.conf", "--select", "CONF", "--format", "json")
    assert json.loads(proc.stdout)["findings"] == []  # no PG_VERSION: version unknown
    (cluster / "PG_VERSION").write_text("15\n")
    proc = oomaudit("check", cluster / "postgresql.conf", "--select", "CONF", "--format", "json")
    findings = json.loads(proc.stdout)["findings"]
    assert [(f["rule"], f["line"]) for f in findings] == [("CONF001", 1)]
    assert 'unrecognized configuration parameter "shared_bufers"' in findings[0]["message"]
