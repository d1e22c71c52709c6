"""nohang.conf as nohang 0.2 reads it, against `nohang --config FILE --check` (Debian's
nohang) over Debian's shipped file with generated lines appended: which @BADNESS_ADJ_RE_NAME
lines it takes and whether it accepts the file; USERKILL006 fired and not fired; any text
gives findings or CONF001, never a traceback."""
from __future__ import annotations

import io
import json
import re
import subprocess
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.oomkillers.nohang import parse

from oomaudit.cli import main
from oomaudit.reading import Source

SHIPPED = Path("/etc/nohang/nohang.conf")


@pytest.fixture(scope="module")
def nohang() -> str:
    program = need_program("nohang", "the oracle of nohang.conf's reading")
    if not SHIPPED.is_file():
        pytest.fail(f"{SHIPPED} missing though nohang is installed")
    return program


def _theirs(program: str, path: Path):
    """(badness lines as (adj, regex)) when nohang accepts the file, else None."""
    out = subprocess.run([program, "--config", str(path), "--check"],
                         capture_output=True, text=True, timeout=30)
    text = out.stdout + out.stderr
    if "config is OK" not in text:
        return None
    section = text.split("7.2.1.", 1)[1].split("7.2.2.", 1)[0]
    return [tuple(line.strip().split("  ", 1)) for line in section.splitlines()[2:]
            if line.strip() and line.strip() != "(not set)"]


def _ours(path: Path):
    config = parse(Source(path, path.name, path.read_text()))
    if not config.starts:
        return None
    return [(str(b.adj), b.regex) for b in config.badness]


_LINE = st.one_of(
    st.tuples(st.integers(-1000, 1000), st.sampled_from(
        ["^(sshd|postgres)$", "^Web Content$", "java", "(", "a=b", "[x"])).map(
        lambda t: f"@BADNESS_ADJ_RE_NAME {t[0]} /// {t[1]}"),
    st.sampled_from(["soft_threshold_min_mem = 5 %", "max_sleep = 3", "# comment",
                     " indented = 1", "\tx = 1", "", "@BADNESS_ADJ_RE_NAME 100 /// ^x$"]))


@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_LINE, max_size=5))
def test_badness_lines_and_acceptance_agree_with_nohang(nohang, tmp_path, lines):
    path = tmp_path / "nohang.conf"
    path.write_text(SHIPPED.read_text() + "".join(f"{line}\n" for line in lines))
    theirs = _theirs(nohang, path)
    ours = _ours(path)
    if theirs is None or ours is None:
        assert theirs == ours, lines
    else:
        assert [(a, r) for a, r in ours] == [(a.strip(), r.strip()) for a, r in theirs], lines


def _check(tmp_path, text: str, *args) -> tuple[int, list[dict]]:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.oomaudit]\ncritical-services = ["ssh", "postgresql@*"]\n')
    path = tmp_path / "nohang.conf"
    path.write_text(text)
    out = io.StringIO()
    with redirect_stdout(out):
        code = main(["check", str(path), "--format", "json", *args])
    report = json.loads(out.getvalue())
    assert report["errors"] == []
    return code, report["findings"]


BASE = "max_sleep = 3\nsoft_threshold_min_mem = 5 %\n"


def test_userkill006_positive_badness_for_critical_services(tmp_path):
    code, findings = _check(tmp_path, BASE + "@BADNESS_ADJ_RE_NAME 200 /// ^(sshd|postgres)$\n"
                            "@BADNESS_ADJ_RE_NAME -50 /// ^postgres$\n")
    assert code == 1
    assert [(f["rule"], f["line"], f["severity"]) for f in findings] == [
        ("USERKILL006", 3, "high"), ("USERKILL006", 3, "high")]
    assert "adds 200 to the badness of critical service ssh (sshd)" in findings[0]["message"]
    assert "adds 150 to the badness of critical service postgresql@* (postgres)" \
        in findings[1]["message"]
    assert findings[1]["fix"].endswith("@BADNESS_ADJ_RE_NAME -450 /// ^postgres$")


def test_userkill006_not_when_protected_or_unmatched(tmp_path):
    assert _check(tmp_path, BASE + "@BADNESS_ADJ_RE_NAME 200 /// ^(sshd|postgres)$\n"
                  "@BADNESS_ADJ_RE_NAME -500 /// ^(sshd|postgres)$\n") == (0, [])
    assert _check(tmp_path, BASE + "@BADNESS_ADJ_RE_NAME 200 /// ^firefox$\n") == (0, [])


@pytest.mark.parametrize("text, why", [
    (BASE + "max_sleep = 4\n", "config key duplication: max_sleep"),
    (BASE + "@BADNESS_ADJ_RE_NAME 200 /// (\n", "invalid regexp: ("),
    ("soft_threshold_min_mem = 60 %\n", "invalid soft_threshold_min_mem value")])
def test_what_nohang_refuses_is_conf001(tmp_path, text, why):
    code, findings = _check(tmp_path, text)
    assert [f["rule"] for f in findings] == ["CONF001"] and why in findings[0]["message"]


@settings(max_examples=100, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=300))
def test_any_text_gives_findings_or_conf001(tmp_path, text):
    code, findings = _check(tmp_path, text)
    assert {f["rule"] for f in findings} <= {"CONF001", "USERKILL006"}
    assert re.fullmatch(r"[01]", str(code))


def test_debian_shipped_nohang_conf_on_4g_is_quiet(nohang, tmp_path):
    for shipped in (SHIPPED, SHIPPED.with_name("nohang-desktop.conf")):
        assert _check(tmp_path, shipped.read_text(), "--ram", "4G") == (0, [])
