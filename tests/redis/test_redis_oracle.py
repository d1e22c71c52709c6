"""The redis.conf reader against redis-server 7.0 itself (Debian's redis-server package):
generated configurations, with includes, quoting, units and values Redis refuses, are read
by both; where Redis starts, CONFIG GET gives what we computed, and where it refuses, we
report a CONF finding at the line it names."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from conftest import IN_CI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.redis.constants import READER
from oomaudit.plugins.redis.instances import instances
from redis_oracle import Outcome, redis_server, run

from oomaudit.host import ROOT, Host
from oomaudit.parsers import redis_values, redisconf

EXAMPLES = int(os.environ.get("REDIS_ORACLE_EXAMPLES", "60"))


def ours(main: Path) -> tuple[dict[str, str] | None, list[tuple[str, int | None, str]]]:
    """What our reader makes of ``main``: the values as CONFIG GET prints them (None where
    we say redis-server refuses to start), and every CONF finding as (rule, line, the line
    trimmed as Redis echoes it)."""
    host = Host("oracle", ROOT, Path("/"))
    source = host.read(main, READER)
    host.docs["redis"] = [redisconf.parse(source)]
    [instance] = instances(host)
    problems = [(p.rule, p.line, s.text.split("\n")[p.line - 1].strip(" \t\r\n")
                 if p.line else "") for s in host.sources.values() for p in s.problems]
    problems += [(d.rule, None, d.message) for d in host.diagnostics]
    if instance.failed:
        return None, problems
    values = {name: str(instance[name].value) for name in ("maxmemory", "maxmemory-policy",
                                                           "auto-aof-rewrite-percentage")}
    for name in ("appendonly", "disable-thp"):
        values[name] = "yes" if instance[name].value else "no"
    values["save"] = " ".join(f"{s} {c}" for s, c in instance.save)
    return values, problems


def agree(main: Path, outcome: Outcome, joined: bool = False) -> None:
    """Both start with the same values, or both refuse, we at the line Redis names (and
    maybe others). ``joined``: a glob include read several files as one text, whose line
    numbers redis-server counts across them; ours are each file's own."""
    values, problems = ours(main)
    if outcome.values is not None:
        assert problems == [] and values == outcome.values, (outcome, problems)
    elif outcome.line is not None:  # refused at a line: we report that line (among others)
        assert values is None, outcome
        assert any(line == outcome.line and text == outcome.text or joined and text and
                   outcome.text.startswith(text) for _, line, text in problems), \
            (outcome, problems)
    else:  # refused before reading lines: an include it cannot open
        assert values is None and "can't open config file" in outcome.error, outcome
        assert any(rule == "CONF002" for rule, _, _ in problems), (outcome, problems)


# -- generated configurations --------------------------------------------------------------

def cased(word: str):
    return st.sampled_from([word, word.upper(), word.capitalize()])


_UNITS = ["", "b", "k", "kb", "m", "mb", "g", "gb", "K", "KB", "Mb", "gB", "G", "t", "kib", "x"]
memory_values = st.one_of(
    st.builds(lambda n, u: f"{n}{u}", st.one_of(st.integers(0, 5000), st.integers(0, 1 << 70)),
              st.sampled_from(_UNITS)),
    st.sampled_from(["", "-1", "+5", "1.5g", "0x10", "2 gb", "١٢"]))
policies = st.one_of(st.sampled_from(redis_values.POLICIES).flatmap(cased),
                     st.sampled_from(["lru", "allkeys_lru", "", "allKeys-LFU"]))
booleans = st.one_of(st.sampled_from(["yes", "no"]).flatmap(cased),
                     st.sampled_from(["true", "1", "", "y"]))
integers = st.one_of(st.integers(-5, 300).map(str),
                     st.sampled_from(["01", "-0", "2147483647", "2147483648", "abc", "", "1e3"]))
save_numbers = st.one_of(st.integers(-2, 100000).map(str), st.sampled_from(
    ["", "+5", " 7", "4294967297", "1x", "99999999999999999999"]))


def quote(value: str, style: str) -> str:
    """A value as a redis.conf may write it: bare, "double" (C escapes, here and there a
    \\xHH), 'single'; a bare empty or blank-holding value needs quotes."""
    if style == "bare" and value and not any(c in value for c in " \t\"'"):
        return value
    if style == "single":
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    if style == "hex":
        return '"' + "".join(f"\\x{ord(c):02x}" if c.isascii() else c for c in value) + '"'
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


styles = st.sampled_from(["bare", "bare", "bare", "double", "single", "hex"])


def setting(name: str, values) -> st.SearchStrategy[str]:
    return st.builds(lambda n, v, s: f"{n} {quote(v, s)}", cased(name), values, styles)


save_lines = st.one_of(
    st.builds(lambda n, pairs, s: f"{n} " + " ".join(quote(v, s) for v in pairs), cased("save"),
              st.lists(save_numbers, max_size=5), styles),
    st.builds(lambda a, b: f'save "{a} {b}"', save_numbers, save_numbers),
    st.just('save ""'), st.just("save"))
lines = st.one_of(
    setting("maxmemory", memory_values), setting("maxmemory-policy", policies),
    setting("appendonly", booleans), setting("disable-thp", booleans),
    setting("auto-aof-rewrite-percentage", integers), save_lines,
    st.sampled_from(["# maxmemory 1gb", "", "   ", "databases 16", "timeout 0",
                     "maxmemory 2gb # two", "maxmemory", "maxmemory 1gb 2gb", 'maxmemory "2gb',
                     "maxmemory '2gb", 'maxmemory "2gb"x', "\tmaxmemory 3mb  ", "appendonly\tyes",
                     "maxmemory\v5mb"]))
files = st.lists(lines, max_size=8)
endings = st.sampled_from(["\n", "\r\n"])
INCLUDES = ("plain", "glob", "nothing", "missing")


@pytest.fixture(scope="module")
def folder():
    redis_server()
    path = Path(tempfile.mkdtemp(prefix="oomaudit-redis-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(main=files, first=files, second=files, include=st.sampled_from(INCLUDES),
       at=st.integers(0, 8), ending=endings)
def test_generated_configurations_read_as_redis_server_reads_them(
        folder, main, first, second, include, at, ending):
    for old in folder.iterdir():
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    (folder / "inc-a.conf").write_text(ending.join(first) + ending)
    (folder / "inc-b.conf").write_text(ending.join(second) + ending)
    target = {"plain": folder / "inc-a.conf", "glob": folder / "inc-*.conf",
              "nothing": folder / "none-*.conf", "missing": folder / "absent.conf"}[include]
    main = list(main)
    main.insert(min(at, len(main)), f"include {target}")
    config = folder / "redis.conf"
    config.write_text(ending.join(main) + ending)
    data = folder / "data"
    data.mkdir()
    agree(config, run(config, data), joined=include == "glob")


# -- fixed cases -------------------------------------------------------------------------------

CASES = {
    "units": "maxmemory 1k\nmaxmemory 2GB\n",
    "last wins": "maxmemory 1gb\nmaxmemory-policy allkeys-lru\nmaxmemory 1mb\n",
    "save adds up": "save 900 1\nsave 300 10\n",
    "save alone empties": "save\nsave 60 5\n",
    "save reset": 'save 900 1\nsave ""\nsave 60 1\n',
    "no digits": "maxmemory kb\n",
    "wraps at 2^64": "maxmemory 99999999999999999999999gb\n",
    "clamped": "maxmemory 18446744073709551616\n",
    "trailing comment": "maxmemory 2gb # two gigabytes\n",
    "escapes": 'maxmemory "\\x32gb"\nmaxmemory-policy \'allkeys-lru\'\n',
    "aof": "appendonly YES\nauto-aof-rewrite-percentage 0\n",
}


@pytest.mark.parametrize("text", CASES.values(), ids=CASES.keys())
def test_fixed_cases(tmp_path, text):
    config = tmp_path / "redis.conf"
    config.write_text(text)
    agree(config, run(config))


@pytest.mark.parametrize("second", ["save 60 1\n", "maxmemory 5mb\n", "\n"])
def test_glob_files_are_read_as_one_text(tmp_path, second):
    """A file without a final newline lends its last line the next file's first line."""
    (tmp_path / "inc-a.conf").write_text("maxmemory 3mb\nmaxmemory 1")
    (tmp_path / "inc-b.conf").write_text(second)
    config = tmp_path / "redis.conf"
    config.write_text(f"include {tmp_path}/inc-*.conf\n")
    outcome = run(config)
    agree(config, outcome, joined=True)
    if outcome.values is None:  # the joined line is refused: our finding says why
        host = Host("oracle", ROOT, Path("/"))
        host.docs["redis"] = [redisconf.parse(host.read(config, READER))]
        instances(host)
        [problem] = [p for s in host.sources.values() for p in s.problems]
        assert (Path(problem.path).name, problem.line) == ("inc-a.conf", 2)
        assert "joined with the first line of" in problem.message


def test_debian_shipped_configuration():
    """/etc/redis/redis.conf as Debian's redis-server package installs it."""
    redis_server()
    shipped = Path("/etc/redis/redis.conf")
    if not shipped.is_file():
        if IN_CI:
            pytest.fail(f"{shipped} is missing in CI (.ci/run installs redis-server)")
        pytest.skip("redis-server is installed without /etc/redis/redis.conf")
    outcome = run(shipped)
    assert outcome.values is not None, outcome
    agree(shipped, outcome)
    assert outcome.values["maxmemory"] == "0" and outcome.values["disable-thp"] == "yes"
