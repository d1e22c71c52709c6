"""Usage errors are usage errors: a --since out of range, a number past Python's digit limit
or nesting past tomllib's recursion in .oomaudit.toml, and such a facts file are one line
naming the option or file:line, exit 2, never "internal error". Real CLI, hang-guarded."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

DEEP = 5000


def run(tmp_path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oomaudit", *args], capture_output=True,
                          text=True, timeout=120, cwd=tmp_path)


def one_usage_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, (done.stdout[-2000:], done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("oomaudit: error: "), done.stderr
    assert "internal error" not in done.stderr and "Traceback" not in done.stderr
    return lines[0]


@pytest.mark.parametrize("since", ["99999999999d", "9" * 5000 + "w", "0001-01-01",
                                   "99999999999999999999m"])
@pytest.mark.parametrize("command", ["scan", "logs"])
def test_since_out_of_range_names_the_option(tmp_path, command, since):
    (tmp_path / "kern.log").write_text("")
    args = ["scan", "--root", str(tmp_path), "--ram", "4G"] if command == "scan" \
        else ["logs", str(tmp_path / "kern.log")]
    line = one_usage_error(run(tmp_path, *args, "--since", since))
    assert "--since" in line and "out of range" in line
    assert len(line) < 400  # the value's start, not its 5000 digits


def test_since_with_escape_sequences_is_shown_escaped(tmp_path):
    line = one_usage_error(run(tmp_path, "scan", "--root", str(tmp_path), "--since",
                               "\x1b]0;owned\x07\x1b[31m"))
    assert "\x1b" not in line and "--since" in line


CONFIGS = {
    "huge integer": ("[[hosts]]\nname = 'a'\npaths = ['**']\nram = " + "9" * 5000 + "\n", 4),
    "huge integer, underscores": ("x = 1\ny = " + "9_" * 5000 + "9\n", 2),
    "deep arrays": ("x = 1\ny = " + "[" * DEEP + "]" * DEEP + "\n", 2),
    "deep inline tables": ("x = 1\n\ny = " + "{a = " * DEEP + "1" + "}" * DEEP + "\n", 3),
    "deep, over lines": ("x = [\n" + "[\n" * DEEP + "]\n" * DEEP + "]\n", 101),
}


@pytest.mark.parametrize("case", list(CONFIGS))
def test_config_beyond_tomllib_names_file_and_line(tmp_path, case):
    text, line = CONFIGS[case]
    (tmp_path / ".oomaudit.toml").write_text(text)
    (tmp_path / "fstab").write_text("/swapfile none swap sw 0 0\n")
    error = one_usage_error(run(tmp_path, "check", str(tmp_path)))
    assert f".oomaudit.toml:{line}:" in error


def test_pyproject_tool_section_too(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.oomaudit]\nx = " + "[" * DEEP +
                                             "]" * DEEP + "\n")
    (tmp_path / "fstab").write_text("/swapfile none swap sw 0 0\n")
    assert "pyproject.toml:2:" in one_usage_error(run(tmp_path, "check", str(tmp_path)))


FACTS = {
    "deep": "[" * 100_000 + "]" * 100_000,
    "huge integer": json.dumps({"tool": {"name": "oomaudit"}, "schema_version": 1})[:-1]
    + ', "ram": {"value": ' + "9" * 5000 + "}}",
    "huge float": '{"tool": {"name": "oomaudit"}, "schema_version": 1, "host": "a", '
                  '"measured_at": "2026-01-01T00:00:00Z", "ram": {"value": 1e400}}',
}


@pytest.mark.parametrize("case", list(FACTS))
def test_facts_file_beyond_json_is_a_usage_error(tmp_path, case):
    (tmp_path / "facts.json").write_text(FACTS[case])
    (tmp_path / "fstab").write_text("/swapfile none swap sw 0 0\n")
    error = one_usage_error(run(tmp_path, "check", "--facts", "facts.json", str(tmp_path)))
    assert "facts.json" in error


@pytest.mark.parametrize("table", ["ram = {}", "swap = {}", "process-sizes = {{ mysql = {} }}"])
def test_integer_sizes_in_config_are_bounded_like_written_ones(tmp_path, table):
    """An integer of bytes above 16 EiB is refused like '16E' written out, with its line."""
    ram = [] if table.startswith("ram") else ["ram = '4G'"]
    lines = ["[[hosts]]", "name = 'a'", "paths = ['**']", *ram, table.format("9" * 30)]
    (tmp_path / ".oomaudit.toml").write_text("\n".join(lines) + "\n")
    (tmp_path / "fstab").write_text("/swapfile none swap sw 0 0\n")
    error = one_usage_error(run(tmp_path, "check", str(tmp_path)))
    assert ".oomaudit.toml:" in error and "16 EiB" in error
