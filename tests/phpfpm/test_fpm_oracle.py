"""Differential tests: oomaudit's PHP-FPM reader against ``php-fpm8.2 -tt`` (it parses,
post-processes and dumps the configuration, and starts no daemon): fixed cases for the
quirks in ORACLES.md and hypothesis-generated pool files."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.phpfpm.configs import _post_process
from oomaudit.plugins.phpfpm.constants import READER

from oomaudit.host import LIVE, Host
from oomaudit.parsers import phpfpm

KEYS = ("pm", "pm.max_children", "pm.start_servers", "pm.min_spare_servers",
        "pm.max_spare_servers", "pm.max_requests")
ENV = {"FPMKIDS": "33", "EMPTY": ""}


@pytest.fixture(scope="module")
def fpm():
    return need_program("php-fpm8.2", "the PHP-FPM reader's reference (php8.2-fpm)")


def oracle(fpm: str, main: Path) -> tuple[bool, dict[str, dict[str, str]], str]:
    """(accepted, pool -> key -> value as dumped, stderr) of ``php-fpm -tt``."""
    proc = subprocess.run([fpm, "-tt", "-y", str(main), "-p", str(main.parent)],
                          capture_output=True, text=True, env=ENV, timeout=60)
    pools: dict[str, dict[str, str]] = {}
    current = None
    for line in proc.stderr.splitlines():
        m = re.match(r"^\[[^\]]*\] NOTICE: \t?(.*)$", line)
        if not m:
            continue
        body = m.group(1)
        header = re.fullmatch(r"\[(.*)\]", body)
        if header:
            current = pools.setdefault(header.group(1), {}) if header.group(1) != "global" \
                else None
        elif current is not None and " = " in body:
            key, value = body.split(" = ", 1)
            current[key.strip()] = value
    return proc.returncode == 0, pools, proc.stderr


def ours(main: Path) -> tuple[bool, dict[str, dict[str, str]], list]:
    host = Host("t", LIVE, Path("/"))
    source = host.read(main, READER)
    config = phpfpm.Loader(host, READER, ENV).load(source, str(main.parent))
    _post_process(config)
    problems = [f for s in host.sources.values() for f in s.problems if f.rule == "CONF001"]
    problems += [f for s in host.sources.values() for f in s.problems
                 if f.rule == "CONF002" and "cannot start" in f.message]
    pools = {p.name: {k: str(p.get(k)) for k in KEYS if p.get(k) is not None}
             for p in config.pools}
    return not problems, pools, problems


def header(tmp: Path) -> str:
    return f"[global]\nerror_log = {tmp}/error.log\n"


POOL = "user = nobody\nlisten = /tmp/oomaudit-fpm-test.sock\n"


def compare(fpm: str, tmp: Path, body: str) -> None:
    main = tmp / "php-fpm.conf"
    main.write_text(header(tmp) + body)
    accepted, pools, stderr = oracle(fpm, main)
    ok, mine, problems = ours(main)
    assert ok == accepted, (body, stderr, problems)
    if accepted:
        for name, values in mine.items():
            dumped = pools[name]
            for key, value in values.items():
                if ("spare" in key or "start" in key) and values.get("pm") == "ondemand":
                    continue  # php-fpm zeroes these for ondemand pools
                want = dumped[key]
                assert value == want, (body, name, key, value, want)
        assert set(mine) == set(pools), (body, mine, pools)
    else:
        alert = re.search(r"(?:ALERT|ERROR): (\[pool .*)$", stderr, re.M)
        if alert:  # post-processing (a shared listen address is an ERROR): its own words
            assert any(alert.group(1) in p.message for p in problems), (stderr, problems)
        error = re.search(r"ERROR: \[[^\]]*:(\d+)\] ", stderr)
        if error:  # a rejected line: the same line
            assert any(p.line == int(error.group(1)) for p in problems), (stderr, problems)


CASES = [
    "[www]\n" + POOL + "pm = Dynamic\npm.max_children = \"12\" ; comment\npm.start_servers=2\n"
    "pm.min_spare_servers = 1\npm.max_spare_servers = 3\n[www]\npm.max_children = 14\n",
    "[www]\n" + POOL + "pm = static\npm.max_children = ${FPMKIDS}\n",
    "[www]\n" + POOL + "pm = static\npm.max_children = 0\n",
    "[www]\n" + POOL + "pm.max_children = 5\n",
    "[www]\n" + POOL + "pm = dynamic\npm.max_children = 5\npm.start_servers=20\n"
    "pm.min_spare_servers=1\npm.max_spare_servers=3\n",
    "[www]\n" + POOL + "pm = dynamic\npm.max_children = 5\npm.max_spare_servers=3\n",
    # no start_servers: php-fpm sets min_spare + (max_spare - min_spare) / 2 (here 2, and 1)
    "[www]\n" + POOL + "pm = dynamic\npm.max_children = 9\npm.min_spare_servers=1\n"
    "pm.max_spare_servers=4\n",
    "[www]\n" + POOL + "pm = dynamic\npm.max_children = 1\npm.min_spare_servers=1\n"
    "pm.max_spare_servers=1\npm.start_servers=-3\n",
    "[www]\n" + POOL + "pm = static\npm.max_children = 5M\n",
    "[www]\n" + POOL + "pm = static\npm.max_children = E_ALL & ~E_NOTICE\n",
    "[www]\n" + POOL + "pm = static\npm.max_children = 99999999999\n",
    "[www]\n" + POOL + "pm = static\npm.max_children = 5\n# a hash comment\n",
    "[www]\n" + POOL + "pm = ondemand\npm.max_children = 5\npm.process_idle_timeout = 0\n",
    "[WWW]\n" + POOL + "pm=static\npm.max_children=2\n[www]\npm.max_children = 9\n",
    "[www]\n" + POOL + "pm=static\npm.max_children=2\n[Global]\npm.max_children = 9\n",
    "[www]\n" + POOL + "pm=static\npm.max_children=\"5\" \"6\"\n",
    "[www]\n" + POOL + "pm=static\npm.max_children=yes\npm.max_requests=off\n",
    "[www]\n" + POOL + "pm=static\npm.max_children=(4|1)\npm.max_requests=a=b\n",
    # two pools on one address: refused once every pool passed its own checks
    "[www]\n" + POOL + "pm = static\npm.max_children = 1\n[api]\n" + POOL +
    "pm = static\npm.max_children = 1\n",
    "[www]\nuser = nobody\nlisten = /tmp/$pool.sock\npm = static\npm.max_children = 1\n"
    "[api]\nuser = nobody\nlisten = /tmp/$pool.sock\npm = static\npm.max_children = 1\n",
    "[a]\nuser = nobody\nprefix = /tmp\nlisten = x.sock\npm = static\npm.max_children = 1\n"
    "[b]\nuser = nobody\nprefix = /var/tmp\nlisten = x.sock\npm = static\npm.max_children = 1\n",
    "[a]\nuser = nobody\nprefix = /tmp\nlisten = x.sock\npm = static\npm.max_children = 1\n"
    "[b]\nuser = nobody\nlisten = /tmp/x.sock\npm = static\npm.max_children = 1\n",
    # two addresses shared: php-fpm names the earliest pool that shares one (a) and the next
    # pool on its address (d), not the first pair met in file order (b and c)
    "".join(f"[{n}]\nuser = nobody\nlisten = /tmp/{a}.sock\npm = static\npm.max_children = 1\n"
            for n, a in (("a", "x"), ("b", "y"), ("c", "y"), ("d", "x"))),
    "\n",
]


@pytest.mark.parametrize("body", CASES)
def test_fixed_cases_match_php_fpm(fpm, tmp_path, body):
    compare(fpm, tmp_path, body)


def test_includes_relative_to_the_prefix_and_sections_carry_over(fpm, tmp_path):
    (tmp_path / "pool.d").mkdir()
    (tmp_path / "pool.d/b.conf").write_text("[www]\n" + POOL + "pm=static\npm.max_children=3\n")
    (tmp_path / "pool.d/A.conf").write_text("[api]\nuser=nobody\nlisten=/tmp/y.sock\n"
                                            "pm = ondemand\npm.max_children = 4\n")
    # after the include, [www] (the last section read) is still in force
    compare(fpm, tmp_path, "include=pool.d/*.conf\npm.max_requests = 7\n")
    compare(fpm, tmp_path, "include=nodir/*.conf\n")
    compare(fpm, tmp_path, "include=pool.d/*.nomatch\n" + "[x]\n" + POOL +
            "pm=static\npm.max_children=1\n")


def test_include_depth_limit(fpm, tmp_path):
    for i in range(1, 7):
        (tmp_path / f"l{i}.conf").write_text(f"include={tmp_path}/l{i + 1}.conf\n")
    (tmp_path / "l7.conf").write_text("[www]\n" + POOL + "pm=static\npm.max_children=3\n")
    compare(fpm, tmp_path, f"include={tmp_path}/l4.conf\n")  # 5 files deep: fine
    compare(fpm, tmp_path, f"include={tmp_path}/l3.conf\n")  # 6: refused


# -- generated pool files ----------------------------------------------------------------

NUMBER = st.one_of(st.integers(-3, 300).map(str), st.sampled_from(
    ["0", "012", "5M", "+5", "1e3", "", "yes", "off", "null", "none", "E_ALL", "${FPMKIDS}",
     "${EMPTY}", "4|1", "~0", "(5)", "6&3", "!0", "5 5", "5;6", "5#6"]))


@st.composite
def value(draw, inner):
    text = draw(inner)
    style = draw(st.sampled_from(["plain", "double", "single", "spaced", "comment"]))
    if style == "double":
        return f'"{text}"'
    if style == "single" and text and "'" not in text:
        return f"'{text}'"
    if style == "spaced":
        return f"  {text}  "
    if style == "comment":
        return f"{text} ; note"
    return text


@st.composite
def pool_file(draw) -> str:
    lines = []
    names = draw(st.lists(st.sampled_from(["www", "api", "WWW", "global"]), min_size=1,
                          max_size=3))
    for name in names:
        lines.append(f"[{name}]")
        if name != "global":
            lines += ["user = nobody", "listen = /tmp/oomaudit-fpm-test.sock"]
            if draw(st.booleans()):
                pm = draw(st.sampled_from(["static", "dynamic", "ondemand", "Static",
                                           "DYNAMIC", "bogus", ""]))
                lines.append(f"pm = {pm}")
            for key in KEYS[1:]:
                if draw(st.integers(0, 3)):
                    lines.append(f"{key} = {draw(value(NUMBER))}")
        if draw(st.integers(0, 5)) == 0:
            lines.append(draw(st.sampled_from(["; comment", "", "   ", "# hash", "x = [",
                                               "pm.max_children", "bogus.key = 1"])))
    return "\n".join(lines) + "\n"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(body=pool_file())
def test_generated_pool_files_match_php_fpm(fpm, tmp_path_factory, body):
    compare(fpm, tmp_path_factory.mktemp("fpm"), body)
