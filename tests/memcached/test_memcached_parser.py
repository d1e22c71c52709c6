"""memcached.conf as Debian's systemd-memcached-wrapper hands it to memcached, and -m as
memcached's getopt_long and atoi read it; any input gives a Config or CONF001, never a
traceback."""
from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.parsers import memcached
from oomaudit.reading import Source

MiB = 1 << 20


def parse(text: str) -> memcached.Config:
    return memcached.parse(Source(Path("/etc/memcached.conf"), "memcached.conf", text))


def test_debian_lines_comments_and_directives():
    config = parse("# memory\n-d\nlogfile /var/log/memcached.log\n-m 128   # MB\n"
                   "-p 11211\n-u memcache\n-l 127.0.0.1\n")
    assert config.words == ["-m", "128", "-p", "11211", "-u", "memcache", "-l", "127.0.0.1"]
    assert (config.memory.bytes, config.memory.said, config.line) == (128 * MiB, "-m 128", 4)
    assert not config.failed and config.source.problems == []


def test_default_is_64_megabytes():
    config = parse("-p 11211\n")
    assert config.memory.bytes == 64 * MiB and config.line is None
    assert "default 64" in config.memory.said


def test_the_last_m_wins_in_every_spelling():
    for text, nbytes, said in (("-m 10\n-m 20\n", 20, "-m 20"), ("-m10\n", 10, "-m10"),
                               ("--memory-limit=30\n", 30, "--memory-limit=30"),
                               ("--memory-limit 40\n", 40, "--memory-limit 40"),
                               ("--memory-l 50\n", 50, "--memory-l 50"),
                               ("-vm 60\n", 60, "-vm 60"), ("-vm70\n", 70, "-vm70")):
        config = parse(text)
        assert (config.memory.bytes, config.memory.said) == (nbytes * MiB, said), text


def test_atoi_ignores_suffixes_and_wraps():
    assert parse("-m 2048m\n").memory.bytes == 2048 * MiB
    assert parse("-m 1024k\n").memory.bytes == 1024 * MiB
    assert parse("-m -5\n").memory.bytes == (1 << 64) - 5 * MiB
    assert parse("-m 99999999999\n").memory.bytes == (99999999999 % (1 << 32)) * MiB
    assert memcached.atoi(" +12abc") == 12 and memcached.atoi("x") == 0
    assert memcached.atoi("99999999999999999999999") == -1  # LONG_MAX, cast to int


def test_refused_values_are_conf001():
    for text in ("-m 1g\n", "-m 0\n", "-m abc\n", "-m 1\n"):
        config = parse(text)
        assert config.failed, text
        [problem] = config.source.problems
        assert problem.rule == "CONF001" and problem.line == 1 and "refuses to start" in \
            problem.message
    assert not parse("-m 1\n-I 256k\n").failed  # an explicit -I is not judged


def test_options_memcached_refuses_and_shell_syntax_are_conf001():
    for text in ("-m\n", "-q\n", "--memory 4\n", "--memory-limitx=4\n", "--verbose=1\n",
                 "-m 64; rm x\n", "-m \"64\n", "-m $MEM\n"):
        config = parse(text)
        assert config.failed and [p.rule for p in config.source.problems] == ["CONF001"], text


def test_comment_rules_of_the_wrapper():
    # a '#' after a backslash is kept (the shell then unescapes it); a '#' cuts to the next
    assert parse("-m 12#3\n").memory.bytes == 12 * MiB
    assert parse("-l a\\#b -m 5\n").words == ["-l", "a#b", "-m", "5"]
    assert parse("-m 7 # a # b\n").memory.bytes == 7 * MiB
    # a line without '-' is a wrapper directive when it holds a blank, else passed on
    assert parse("maxconn 1024\n-m 9\n").words == ["-m", "9"]
    assert parse("stray\n-m 9\n").words == ["stray", "-m", "9"]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("-m 0123456789#\\\"'\n\t\x00kgMI-=;$vdlogfe"))
               | st.characters(), max_size=120))
def test_any_input_gives_a_config_or_conf001(text):
    config = parse(text)
    assert isinstance(config.memory.bytes, int) and 0 <= config.memory.bytes < 1 << 64
    assert all(p.rule == "CONF001" for p in config.source.problems)
    assert config.failed == bool(config.source.problems)
