"""Bounded work on any input: include fan-outs, alias bombs and nesting past every cap end
as a CONF finding naming file:line and the cap, within a time guard, and the audit goes on.
Each case is generated into tmp_path and run through the real CLI."""
from __future__ import annotations

import subprocess
import sys

import pytest

from oomaudit.includes import MAX_FILES


def check(tmp_path, files: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess:
    """``check`` of a repository holding ``files``; a name starting with ``/`` makes it
    ``scan --root`` of a host tree instead."""
    tree = any(name.startswith("/") for name in files)
    for name, text in files.items():
        path = tmp_path / "t" / name.lstrip("/")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    command = ["scan", "--ram", "8G", "--root"] if tree else ["check"]
    return subprocess.run([sys.executable, "-m", "oomaudit", *command, str(tmp_path / "t"),
                           "--no-color", "--format", "text"],
                          capture_output=True, text=True, timeout=timeout, cwd=tmp_path)


def fan(top: str, include, body: str, levels: int = 6, width: int = 4) -> dict[str, str]:
    """A top file including level 0 ``width`` times, each level the next: width**levels
    reads of a few small files, no loop, each level within every program's depth limit."""
    files = {top: include("f0.conf") * width + body}
    for i in range(levels):
        nxt = include(f"f{i + 1}.conf") * width if i + 1 < levels else ""
        files[f"f{i}.conf"] = nxt + body
    return files


FPM = "/etc/php/8.2/fpm"
FANS = {
    "apache": fan("apache2.conf", lambda f: f"Include f{f[1:]}\n", "ServerLimit 10\n"),
    "postgresql": fan("postgresql.conf", lambda f: f"include '{f}'\n", "work_mem = 4MB\n"),
    "mysql": fan("my.cnf", lambda f: f"!include {{root}}/{f}\n", "[mysqld]\nkey_buffer_size=1M\n"),
    "nginx": fan("nginx.conf", lambda f: f"include {f};\n", "# c\n"),
    "php-fpm": {f"{FPM}/php-fpm.conf": f"[global]\ninclude = {FPM}/l1/*.conf\n",
                **{f"{FPM}/l{level}/{i}.conf": (f"include = {FPM}/l{level + 1}/*.conf\n"
                                                if level < 4 else "[www]\npm.max_children = 5\n")
                   for level in range(1, 5) for i in range(8)}},
}


@pytest.mark.parametrize("reader", list(FANS))
def test_include_fan_out_stops_at_the_budget(tmp_path, reader):
    root = tmp_path / "t"
    files = {name: text.replace("{root}", str(root)) for name, text in FANS[reader].items()}
    done = check(tmp_path, files)
    assert done.returncode in (0, 1), done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    capped = [line for line in done.stdout.splitlines()
              if "CONF002" in line and f"more than {MAX_FILES} files" in line]
    assert capped, done.stdout[-3000:]
    assert all(line.split(":")[1].isdigit() for line in capped)  # file:line of the include


def test_alias_bomb_of_a_long_string_is_refused_in_bytes(tmp_path):
    big = "a" * (1 << 20)
    text = (f"x-big: &a '{big}'\nx-l1: &b [{', '.join(['*a'] * 100)}]\n"
            f"x-l2: &c [{', '.join(['*b'] * 100)}]\n"
            "services:\n  app:\n    image: x\n    command: *c\n    mem_limit: 1g\n")
    done = check(tmp_path, {"compose.yaml": text}, timeout=60)
    assert "compose.yaml:" in done.stdout and "MiB of text" in done.stdout, done.stdout
    assert "error" not in done.stderr.lower(), done.stderr


DEEP = {
    "apache <IfModule>": ({"apache2.conf": "<IfModule !x>\n" * 3000 + "ServerLimit 1\n" +
                           "</IfModule>\n" * 3000}, "apache2.conf:201:"),
    "nginx blocks": ({"nginx.conf": "http {" * 5000}, "nginx.conf:1:"),
    "yaml flow": ({"compose.yaml": "services: " + "[" * 5000 + "]" * 5000 + "\n"},
                  "compose.yaml:1:"),
    "compose defaults": ({"compose.yaml": "services:\n  a:\n    image: x\n    mem_limit: " +
                          "${A:-" * 5000 + "\n"}, "compose.yaml:4:"),
}


@pytest.mark.parametrize("case", list(DEEP))
def test_nesting_past_the_cap_is_a_finding_not_a_recursion_error(tmp_path, case):
    files, where = DEEP[case]
    done = check(tmp_path, files, timeout=60)
    assert done.returncode in (0, 1), done.stderr
    assert "error" not in done.stderr.lower(), done.stderr
    assert any(where in line and "CONF00" in line for line in done.stdout.splitlines()), \
        done.stdout[-2000:]
