"""Differential tests: our option-file reader and value evaluation against MariaDB's own
programs. ``my_print_defaults --defaults-file=F --mysqld`` prints the options the server
receives (file order, includes followed); ``mariadbd --defaults-file=F --verbose --help``
prints the values it ends up with. Agreement must be exact."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mysql_helpers import (
    MARIADB_1011,
    debian_tree,
    effective,
    help_option_names,
    help_table,
    in_namespace,
    mariadbd_values,
    my_print_defaults,
    ours,
)

from oomaudit.parsers.mariadb_options import MARIADB_10_11
from oomaudit.parsers.mysql_values import MARIADB
from oomaudit.parsers.mysql_values import settings as server_settings

HYPOTHESIS = settings(max_examples=40, deadline=None,
                      suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def mpd():
    return need_program("my_print_defaults", "oracle for MySQL option files")


@pytest.fixture(scope="module")
def mariadbd():
    return need_program("mariadbd", "oracle for MySQL option values")


def _expected(proc) -> tuple[bool, str]:
    return proc.returncode == 0, proc.stdout.decode("utf-8", "replace")


def _ours(top: Path, cwd: Path) -> tuple[bool, str]:
    _, config = ours(top, cwd)
    return not config.aborted, "".join(o.text + "\n" for o in config.options)


def _compare_options(mpd: str, top: Path, cwd: Path) -> None:
    ok, printed = _expected(my_print_defaults(mpd, top, cwd))
    our_ok, our_text = _ours(top, cwd)
    assert our_ok == ok, (top.read_bytes(), printed)
    if ok:
        assert our_text == printed, top.read_bytes()


# -- my_print_defaults: fixed cases from ORACLES.md and our own edges ---------------------

CASES = {
    "oracle": "[client]\nport = 3306\n[mysqld]\ninnodb_buffer_pool_size = 1G\n"
              "max-connections = 200\nkey_buffer_size=16M    # inline comment\n"
              "loose-nonexistent_option = 5\nskip-name-resolve\nsort_buffer_size = \"2M\"\n"
              "tmp_table_size='32M'\n  join_buffer_size   =   256K\n[server]\nthread_stack = 256K\n"
              "[mysqld-10.11]\nread_rnd_buffer_size = 512K\n[mysqld-8.0]\nbulk = 99M\n"
              "[galera]\nwsrep_on = OFF\n[client-server]\nsocket = /tmp/x.sock\n",
    "groups": "[MYSQLD]\na=1\n[ mysqld]\nb=2\n[mysqld ]\nc=3\n  [mysqld] # c\nd=4\n"
              "[mysqld\t]\ne=5\n[mariadb-10.11]\nf=6\n[mariadbd-10.11]\ng=7\n[]\nh=8\n",
    "comments": "[mysqld]\na1 = b#c\na2 = \"x # y\"\n; whole line\nf=6 ;x\na5 =\na6\n"
                "it's = 5 # not a comment'\n  # indented comment\n",
    "escapes": "[mysqld]\na=\\t|\\\\|\\s|\\q|\\\"|x\\\na='\\''\nb=\"\"\nc=\"a\nd='x\"\n",
    # a backslash escapes a quote only inside quotes: outside, \' opens one, hiding the #
    "escape outside quotes": "[mysqld]\na=\\'#x\nb='\\'#y'\nc=x\\\"z #w\n",
    "nbsp": "[mysqld]\nab=1\xa0\n\xa0cd=2\n[mysqld\xa0]\ngh=4\n",
    "empty names": "[mysqld]\n=5\n  =6\n\t= 7 # c\n",
    "before group": "a=1\n[mysqld]\nb=2\n",
    "no bracket": "[mysqld]\na=1\n[mysqld\nb=2\n",
    "bad include": "[mysqld]\n!include\na=1\n",
    "directives": "!unknown x\n[mysqld]\n!includex foo\n!  include   inc.cnf   \n",
    "no newline": "[mysqld]\n!include inc.cnf",
    "long line": "[mysqld]\nlong=" + "x" * 5000 + "\nafter=1\n",
    "crlf": "[mysqld]\r\nkey_buffer_size = 8M\r\n!include inc.cnf\r\n",
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_option_list_matches_my_print_defaults(tmp_path, mpd, name):
    (tmp_path / "inc.cnf").write_text("[mysqld]\nfrominc=1\n")
    (tmp_path / "inc.cn").write_text("[mysqld]\ntruncated=1\n")
    top = tmp_path / "my.cnf"
    top.write_bytes(CASES[name].encode("utf-8"))
    _compare_options(mpd, top, tmp_path)


def test_includes_order_cycles_depth_and_missing_dir(tmp_path, mpd):
    conf = tmp_path / "conf.d"
    conf.mkdir()
    for name, text in {"a.cnf": "max_connections=350", "b.cnf": "x=400", "C.cnf": "y=555",
                       "c.ini": "z=777", "z.txt": "w=999", ".cnf": "dot=1"}.items():
        (conf / name).write_text(f"[mysqld]\n{text}\n")
    (tmp_path / "loop1.cnf").write_text(f"[mysqld]\nl1=1\n!include {tmp_path}/loop2.cnf\n")
    (tmp_path / "loop2.cnf").write_text(f"[mysqld]\nl2=2\n!include {tmp_path}/loop1.cnf\nl2b=3\n")
    top = tmp_path / "my.cnf"
    top.write_text(f"[client]\n!includedir {conf}\n[mysqld]\n!include /nonexistent.cnf\n"
                   f"!include {tmp_path}/loop1.cnf\nlast=1\n")
    _compare_options(mpd, top, tmp_path)
    host, config = ours(top, tmp_path)
    problems = [(p.rule, p.line) for s in host.sources.values() for p in s.problems]
    assert ("CONF002", 4) in problems  # the missing !include
    assert ("CONF002", 3) in problems  # loop2.cnf closes the loop at its line 3
    top.write_text(f"[mysqld]\na=1\n!includedir {tmp_path}/nodir\n")
    _compare_options(mpd, top, tmp_path)
    host, config = ours(top, tmp_path)
    assert config.aborted.endswith(":3")


# -- my_print_defaults over generated files ------------------------------------------------

GROUPS = ["mysqld", "MySQLd", "server", "client", "mariadb", "mariadb-10.11", "mysqld-8.0",
          "galera", "client-server", " mysqld", "mysqld ", "mariadbd", "other"]
NAMES = ["key_buffer_size", "max-connections", "loose-a", "b", "it's", "x y", "skip-name"]
VALUE_CHARS = st.sampled_from(list("ab19 #;'\"\\=\t") + ["\\n", "\\s", "M", "\xa0"])
VALUES = st.lists(VALUE_CHARS, max_size=8).map("".join)


@st.composite
def option_line(draw) -> str:
    indent = draw(st.sampled_from(["", " ", "\t"]))
    name = draw(st.sampled_from(NAMES))
    if draw(st.booleans()):
        return f"{indent}{name}"
    return f"{indent}{name}{draw(st.sampled_from(['=', ' = ', '  =', '= ']))}{draw(VALUES)}"


def lines(includes: list[str]):
    header = st.builds(lambda g, tail: f"[{g}]{tail}", st.sampled_from(GROUPS),
                       st.sampled_from(["", " # c", "x"]))
    other = st.sampled_from(["", "# comment", "; semi", "  ", "[unclosed", "!bogus",
                             *(f"!include {i}" for i in includes),
                             *(f"!includedir {i}" for i in includes)])
    return st.lists(st.one_of(header, option_line(), other), max_size=12)


@HYPOTHESIS
@given(data=st.data())
def test_generated_files_match_my_print_defaults(tmp_path_factory, mpd, data):
    base = tmp_path_factory.mktemp("gen")
    conf = base / "conf.d"
    conf.mkdir()
    includes = [str(base / "inc.cnf"), "inc.cnf", str(conf), str(base / "missing.cnf"),
                str(base / "my.cnf")]
    files = {base / "my.cnf": "[mysqld]\n", base / "inc.cnf": "", conf / "a.cnf": "",
             conf / "B.cnf": ""}
    for path, head in files.items():
        body = data.draw(lines(includes))
        newline = data.draw(st.booleans())
        path.write_bytes((head + "\n".join(body) + ("\n" if newline else "")).encode())
    _compare_options(mpd, base / "my.cnf", base)


# -- mariadbd: values as the server evaluates them ------------------------------------------

MEMORY_NAMES = sorted(set(MARIADB) - {"max_connections", "thread_stack"})
SPELLINGS = st.sampled_from(["{}", "{}", "loose-{}", "{}".upper()])
NUMBERS = st.one_of(
    st.integers(0, 9999).map(str),
    st.builds(lambda n, s: f"{n}{s}", st.integers(0, 4096), st.sampled_from("kKmM")),
    st.sampled_from(["1.5M", "12X", "16 M", "-5", "", "+5", "2M3", "4MB", "0x10", "16E",
                     "99999999999999999999", " 7K", "M", "\"64K\"", "1e3"]))


@HYPOTHESIS
@given(data=st.data())
def test_generated_values_match_mariadbd(tmp_path_factory, mariadbd, data):
    base = tmp_path_factory.mktemp("val")
    chosen = data.draw(st.lists(st.sampled_from(MEMORY_NAMES), min_size=1, max_size=4))
    body = []
    for name in chosen:
        spelling = data.draw(SPELLINGS).format(name.replace("_", data.draw(
            st.sampled_from("_-"))))
        body.append(f"{spelling} = {data.draw(NUMBERS)}")
    top = base / "my.cnf"
    top.write_text("[mysqld]\n" + "\n".join(body) + "\n")
    _compare_values(mariadbd, top, base)


def _compare_values(mariadbd: str, top: Path, cwd: Path) -> None:
    rc, printed, stderr = mariadbd_values(mariadbd, top, cwd)
    _, config = ours(top, cwd)
    _, occurrences = server_settings(config.options, MARIADB_1011)
    rejected = [s for s in occurrences if s.value.error]
    fatal = [s for s in rejected if s.value.fatal]
    assert (rc != 0) == bool(fatal), (top.read_text(), stderr)
    if rc:  # mysqld stops at the first bad server option, before any plugin's options
        assert any(s.value.error in stderr for s in fatal), (top.read_text(), stderr)
        return
    for setting in rejected:
        assert setting.value.error in stderr
    disabled = {s.value.disables for s in rejected if s.value.disables}
    for plugin in disabled:
        assert f"Parsing options for plugin '{plugin}' failed. Disabling plugin" in stderr
    for setting in occurrences:
        if setting.value.warning and MARIADB[setting.name].plugin not in disabled:
            assert setting.value.warning in stderr, (top.read_text(), stderr)
    garbled = {s.name for s in rejected if s.value.loose}  # the server leaves 0 or so there
    for name, value in effective(config).items():
        if MARIADB[name].plugin in disabled or name in garbled:
            continue
        if name == "max_connections":  # RLIMIT_NOFILE can lower it (never below 1000 here)
            shown = int(printed[name])
            assert shown == value or (value > 1000 and shown < value), top.read_text()
        elif name in printed and name != "thread_stack":  # the stack is capped by ulimit -s
            assert printed[name] == str(value), (name, top.read_text())


@pytest.mark.parametrize("text", [
    "key_buffer=64M\nmax_conn=50\n", "KEY_BUFFER_SIZE=3M\nKey-Buffer_Size=5M\n",
    "max_connections=0\nmax_connections=5000\n", "max_connections=200000\n",
    "innodb_buffer_pool_size=1M\nread_buffer_size=7000\n", "tmp_table_size=13000\n",
    "key_buffer_size=16E\nquery_cache_size=18446744073709551615\n",
    "innodb_log_buffer_size=7E\nnet_buffer_length=3000000\n"])
def test_fixed_values_match_mariadbd(tmp_path, mariadbd, text):
    top = tmp_path / "my.cnf"
    top.write_text("[mysqld]\n" + text)
    _compare_values(mariadbd, top, tmp_path)


def test_option_names_match_the_server(mariadbd, tmp_path):
    """The option list used for prefix resolution is the installed server's."""
    top = tmp_path / "my.cnf"
    top.write_text("[mysqld]\n")
    proc = subprocess.run(
        [mariadbd, f"--defaults-file={top}", "--verbose", "--help"], capture_output=True,
        text=True, errors="replace")
    assert help_option_names(proc.stdout) == set(MARIADB_10_11)


# -- Debian's shipped tree -------------------------------------------------------------------

@pytest.fixture(scope="module")
def debian(tmp_path_factory):
    for program in ("apt-get", "dpkg-deb", "unshare"):
        need_program(program, "fetching and mounting Debian's MariaDB configuration")
    cache = Path(os.environ.get("OOMAUDIT_TEST_CACHE", "/tmp/oomaudit-test-cache"))
    try:
        return debian_tree(cache)
    except (OSError, subprocess.SubprocessError) as exc:  # no network or no apt lists
        if IN_CI:
            pytest.fail(f"apt-get download of Debian's MariaDB packages failed: {exc}")
        pytest.skip(f"apt-get download failed: {exc}")


def test_debian_tree_matches_both_oracles(debian, mpd, mariadbd):
    printed = in_namespace(debian, f"{mpd} --mysqld")
    assert printed.returncode == 0, printed.stderr
    _, config = ours(debian / "etc/mysql/my.cnf", Path("/"), root=debian)
    assert not config.aborted
    assert "".join(o.text + "\n" for o in config.options) == printed.stdout
    assert "--bind-address=127.0.0.1\n" in printed.stdout  # the tree really was read
    help_text = in_namespace(debian, f"{mariadbd} --verbose --help")
    values = help_table(help_text.stdout)
    for name, value in effective(config).items():
        if name in values and name != "max_connections":
            assert values[name] == str(value), name


def test_debian_tree_on_a_4_gib_host_has_no_finding_above_low(debian, oomaudit):
    proc = oomaudit("scan", "--root", debian, "--ram", "4G", "--format", "json")
    report = json.loads(proc.stdout)
    assert proc.returncode in (0, 1) and not report["errors"], proc.stderr
    assert [f for f in report["findings"] if f["severity"] not in ("info", "low")] == []
    mysql, = [c for h in report["hosts"] for c in h["ledger"] if c["service"] == "mysql"]
    assert 800 << 20 < mysql["bytes"] < 900 << 20  # 417 MiB + 151 x 2.9 MiB
