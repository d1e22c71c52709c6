"""nginx reader: differential against ``nginx -t`` (syntax errors at the line nginx names,
includes relative to the main file's directory, the values read), robustness on any text,
and the web tier it gives MYSQL001."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.nginx.constants import READER

from oomaudit.host import FILES, LIVE, Host
from oomaudit.parsers import nginx


@pytest.fixture(scope="module")
def ngx():
    return need_program("nginx", "the nginx reader's reference")


def oracle(program: str, main: Path) -> tuple[bool, int | None, str]:
    """nginx -t with the pid file and error log in the test's folder (starts nothing)."""
    proc = subprocess.run([program, "-t", "-p", f"{main.parent}/", "-c", str(main),
                           "-e", str(main.parent / "error.log"),
                           "-g", f"pid {main.parent}/nginx.pid;"],
                          capture_output=True, text=True, timeout=60)
    m = re.search(r"\[emerg\] (.*) in (\S+):(\d+)$", proc.stderr, re.M)
    return proc.returncode == 0, int(m.group(3)) if m else None, proc.stderr


def ours(main: Path, mode: str = LIVE):
    host = Host("t", mode, Path("/") if mode == LIVE else None)
    config = nginx.Loader(host, READER).load(host.read(main, READER))
    problems = [f for s in host.sources.values() for f in s.problems
                if f.rule in ("CONF001", "CONF002") and f.severity is None]
    return config, problems


OURS = ("worker_processes", "worker_connections", "events", "include")


def modelled(stderr: str) -> bool:
    """The errors oomaudit reproduces: syntax, includes, and its own directives."""
    m = re.search(r"\[emerg\] (.*) in \S+:\d+$", stderr, re.M)
    if not m:
        return False
    named = re.search(r'"(\w+)" directive|directive "(\w+)"', m.group(1))
    return bool(re.match(r'unexpected|open\(\)|invalid number "', m.group(1))) or bool(
        named and (named.group(1) or named.group(2)) in OURS)


def compare(program: str, main: Path, text: str) -> None:
    main.write_text(text)
    accepted, line, stderr = oracle(program, main)
    config, problems = ours(main)
    if not accepted and not modelled(stderr):
        return  # unknown directives, variables, contexts: module-dependent, not ours to judge
    assert (not problems) == accepted, (text, stderr, problems)
    if not accepted:
        assert [p.line for p in problems] == [line], (text, stderr, problems)
    elif "include" not in text:
        found = re.search(r"^\s*worker_processes\s+(\S+);", text, re.M)
        assert config.value("worker_processes") == (found.group(1) if found else "1")


FIXED = [
    "events {}\n", "events {\n", "events {}\n}\n", "events {}\nworker_processes 2\n",
    "events {}\nworker_processes 2", 'events {}\n"abc"x;\n', "events {}\n;\n",
    "events {}\n{\n}\n", 'events {}\nhttp { a "b\n', "events {}\nworker_processes 2;\n"
    "worker_processes 3;\n", "events { worker_connections 1k; }\n",
    "events { worker_connections 10; worker_connections 20; }\n",
    "events {}\nworker_processes auto;\n", "events {}\nworker_processes -1;\n",
    "events {}\nworker_processes 2 3;\n", "events {}\n# c \"\nworker_processes 4;#x\n",
    "events {}\nhttp { include missing.conf; }\n", "events {}\nhttp { include none*.conf; }\n",
    "events {}\nworker_connections 5;\n", "events {} events {}\n",
    "events {}\nhttp { server { set $a '\\'x'; return 200 \"a}b\"; } }\n",
    "events{}\nhttp{server{location ~ ^/a{3}$ {return 200;}}}\n",
    "events {}\nhttp { map $x ${y} { default 1; } }\n",
]


@pytest.mark.parametrize("text", FIXED)
def test_fixed_cases_match_nginx(ngx, tmp_path, text):
    compare(ngx, tmp_path / "nginx.conf", text)


def test_include_is_relative_to_the_main_file_and_sorted(ngx, tmp_path):
    (tmp_path / "conf.d").mkdir()
    (tmp_path / "conf.d/b.conf").write_text("worker_processes 3;\n")
    (tmp_path / "conf.d/a.conf").write_text("# first\n")
    main = tmp_path / "nginx.conf"
    compare(ngx, main, "events { include conf.d/none*.conf; }\ninclude conf.d/*.conf;\n")
    config, _ = ours(main)
    assert config.value("worker_processes") == "3"
    assert [s.path.name for s in config.files] == ["nginx.conf", "a.conf", "b.conf"]
    (tmp_path / "conf.d/c.conf").write_text("worker_processes 4;\n")  # duplicate, in c.conf
    compare(ngx, main, "events {}\ninclude conf.d/*.conf;\n")


def test_include_loop_is_conf002_not_a_crash(tmp_path):
    (tmp_path / "nginx.conf").write_text("events {}\ninclude a.conf;\n")
    (tmp_path / "a.conf").write_text("include b.conf;\n")
    (tmp_path / "b.conf").write_text("# loop\ninclude a.conf;\n")
    config, problems = ours(tmp_path / "nginx.conf")
    assert config.failed
    assert [(p.rule, p.path.rsplit("/", 1)[-1]) for p in problems] in (
        [("CONF002", "a.conf")], [("CONF002", "b.conf")])


def test_lua_blocks_are_skipped(tmp_path):
    (tmp_path / "nginx.conf").write_text(
        "events {}\nhttp { server { content_by_lua_block {\n  ngx.say(\"}\") -- }\n"
        "  local t = { [[ } ]] }\n} } }\nworker_processes 2;\n")
    config, problems = ours(tmp_path / "nginx.conf")
    assert problems == [] and config.value("worker_processes") == "2"


WORDS = st.sampled_from(["worker_processes", "2", "auto", "events", "http", "server",
                         "worker_connections", "512", "return", "200", '"a b"', "'x'",
                         "$v", "${v}", "# c", "\\;", "listen", "80"])
PUNCT = st.sampled_from([";", "{", "}", " ", "\n", ";\n", " {\n", "}\n", '"', "'"])


@settings(max_examples=60, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(parts=st.lists(st.one_of(WORDS, PUNCT), max_size=25))
def test_generated_configs_match_nginx(ngx, tmp_path_factory, parts):
    text = "events {}\n" + " ".join(parts) + "\n"
    compare(ngx, tmp_path_factory.mktemp("ngx") / "nginx.conf", text)


@settings(max_examples=200, deadline=None)
@given(parts=st.lists(st.sampled_from(list("ab ;{}\"'#\\$\n\t()") + ["include x;"]),
                      max_size=80))
def test_any_text_parses_without_raising(tmp_path_factory, parts):
    text = "".join(parts)
    main = tmp_path_factory.mktemp("any") / "nginx.conf"
    main.write_text(text)
    config, problems = ours(main, FILES)
    assert config.failed == bool(problems) or not problems


def test_realworld_nginx_through_the_cli(oomaudit):
    from conftest import need_shared
    folder = need_shared("realworld", "nginx")
    proc = oomaudit("check", folder, "--ram", "4G")
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr == ""


_SNIFF_LINES = st.sampled_from([
    "worker_processes 4;", "  worker_connections 1024;", "events {", "http{", "server {",
    "upstream app {", "location / {", "location", "\n\n  server {", "include mime.types;",
    "pid /run/nginx.pid;", "# server {", "[www]", "}", "",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_SNIFF_LINES, st.text(max_size=30)), max_size=20))
def test_sniff_hint_holds_for_every_head_the_sniffer_accepts(lines):
    """The registration writes the sniffer's directives out (it may not import the
    parser): an nginx.conf the sniffer takes must never be ruled out."""
    head = "\n".join(lines) + "\n"
    if nginx.sniff(head):
        assert re.search(READER.sniff_hint, head, re.M), head
