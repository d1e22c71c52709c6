"""redis.conf's syntax as redis-server reads it (oomaudit.parsers.redisconf and
redis_values; test_redis_oracle.py holds them against redis-server itself): arguments and
quotes, Redis's units, the values it refuses, and any text read without a traceback."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.redis.constants import READER
from oomaudit.plugins.redis.instances import instances

from oomaudit.cli import main
from oomaudit.host import FILES, Host
from oomaudit.parsers import redis_values, redisconf
from oomaudit.reading import Source


@pytest.mark.parametrize("line, args", [
    ("maxmemory 2gb", ["maxmemory", "2gb"]),
    ("  maxmemory\t2gb  ", ["maxmemory", "2gb"]),
    ('maxmemory "2 gb"', ["maxmemory", "2 gb"]),
    ('maxmemory "\\x32gb"', ["maxmemory", "2gb"]),
    ('a "\\n\\t\\"q"', ["a", '\n\t"q']),
    ("a 'it\\'s' b", ["a", "it's", "b"]),
    ("a 'no \\n escape'", ["a", "no \\n escape"]),
    ('a b"c d"', ["a", "bc d"]),
    ("a\vb", ["a\vb"]),  # \v ends no argument outside quotes (only skipped before one)
    ('save ""', ["save", ""]),
    ('a "unbalanced', None),
    ("a 'unbalanced", None),
    ('a "closed"x', None),
    ("a 'closed'x", None),
])
def test_arguments_split_as_sdssplitargs_splits_them(line, args):
    assert redis_values.split_args(line) == args


@pytest.mark.parametrize("text, value", [
    ("1k", 1000), ("1kb", 1024), ("1K", 1000), ("1KB", 1024), ("1m", 10 ** 6),
    ("1mb", 1 << 20), ("1g", 10 ** 9), ("1gb", 1 << 30), ("2GB", 2 << 30), ("1b", 1),
    ("4096", 4096), ("", 0), ("kb", 0), ("007mb", 7 << 20),
    ("18446744073709551616", (1 << 64) - 1),  # strtoull clamps
    ("99999999999999999999999gb", ((1 << 64) - 1) * (1 << 30) % (1 << 64)),  # wraps
    ("1.5g", None), ("-1", None), ("+5", None), ("1 gb", None), ("1kib", None),
    ("1t", None), ("0x10", None), ("١", None), ("1" * 128, None),
])
def test_memory_values_take_redis_units(text, value):
    assert redis_values.memory(text) == value


def parse(text: str, name: str = "redis.conf"):
    source = Source(Path(name), name, text)
    return redisconf.parse(source), source


def test_directives_are_case_insensitive_and_comments_only_start_a_line():
    doc, source = parse("MaxMemory 2gb\n# maxmemory 1gb\nmaxmemory 3gb # three\n"
                        "maxmemory-policy ALLKEYS-LRU\n")
    assert [(d.name, d.args, d.line) for d in doc.directives] == [
        ("maxmemory", ("2gb",), 1), ("maxmemory-policy", ("ALLKEYS-LRU",), 4)]
    [problem] = source.problems
    assert (problem.rule, problem.line) == ("CONF001", 3)
    assert problem.message == "redis-server refuses to start: wrong number of arguments"
    assert problem.key == "maxmemory"


@pytest.mark.parametrize("line, message", [
    ("maxmemory lots", "argument must be a memory value"),
    ("maxmemory-policy lru", "argument(s) must be one of the following"),
    ("appendonly true", "argument must be 'yes' or 'no'"),
    ("auto-aof-rewrite-percentage 01", "couldn't be parsed into an integer"),
    ("auto-aof-rewrite-percentage 2147483648", "between 0 and 2147483647"),
    ("port 65536", "between 0 and 65535"),
    ("save 0 1", "Invalid save parameters"),
    ("save 900", "Invalid save parameters"),
    ("include", "Bad directive"),
    ("include a b", "Bad directive"),
    ('maxmemory "2gb', "Unbalanced quotes"),
    ("maxmémory 1", "Bad directive"),
])
def test_values_redis_refuses_are_conf001_at_their_line(line, message):
    _, source = parse(f"port 6379\n{line}\n")
    [problem] = source.problems
    assert problem.rule == "CONF001" and problem.line == 2 and message in problem.message


def test_unknown_directives_are_left_alone():
    """A newer version's directive is not an error here (redis-server of another version
    may know it)."""
    doc, source = parse("io-threads-do-reads yes\nsome-future-setting 1 2 3\n")
    assert source.problems == [] and len(doc.directives) == 2


def test_a_sentinel_file_is_no_instance():
    doc, _ = parse("port 26379\nsentinel monitor mymaster 127.0.0.1 6379 2\n")
    host = Host("h", FILES, None)
    host.docs["redis"] = [doc]
    assert doc.sentinel and instances(host) == []


@pytest.mark.parametrize("head, expected", [
    ("bind 127.0.0.1\nport 6379\nmaxmemory 2gb\nappendonly no\n", True),
    ("# Redis\nmaxmemory-policy allkeys-lru\ndbfilename dump.rdb\n", True),
    ("maxmemory 2gb\n", False),  # one directive is not enough
    ("innodb_buffer_pool_size = 1G\n", False),
])
def test_sniffing_a_redis_conf_named_otherwise(head, expected):
    assert redisconf.sniff(head) is expected


# -- any input: findings or CONF001, never a traceback --------------------------------------

_ALPHABET = list("maxmemorysavepolicyincludeappendonly-disablethp 0123456789kKmMgGbB"
                 "\"'\\x#\t\r\n\v\f*?[]/é\x85\u2028")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(_ALPHABET), max_size=300))
def test_any_text_parses_without_raising(text):
    doc, source = parse(text)
    assert all(p.rule == "CONF001" and p.line for p in source.problems)
    host = Host("h", FILES, None)
    host.docs["redis"] = [doc]
    for instance in instances(host):
        assert isinstance(instance.maxmemory, int) and instance.maxmemory >= 0


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(alphabet=st.sampled_from(_ALPHABET), max_size=200),
       ram=st.sampled_from(["", "1M", "4G"]))
def test_any_text_through_the_command_line(tmp_path, text, ram):
    conf = tmp_path / "redis.conf"
    conf.write_bytes(text.encode("utf-8", "surrogatepass"))
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["check", str(conf), "--format", "json", "--no-plugins",
                     *(["--ram", ram] if ram else [])])
    report = json.loads(out.getvalue())
    assert code in (0, 1) and report["errors"] == [], (err.getvalue(), report["errors"])
    assert {f["rule"][:4] for f in report["findings"]} <= {"CONF", "REDI", "HOST"}


def test_reader_recognises_redis_files_by_name():
    from oomaudit.recognise import Recogniser

    recogniser = Recogniser({"redis": READER})
    for name in ("redis.conf", "etc/redis/redis-cache.conf", "valkey.conf", "x/redis/6379.conf"):
        assert recogniser.by_name(name) is READER, name
    assert recogniser.by_name("etc/redis/sentinel.conf") is READER  # read, then no instance
    assert recogniser.by_name("my.cnf") is None
