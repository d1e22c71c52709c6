"""earlyoom itself as the oracle: every flag the reader parses (up to the installed
version) is one `earlyoom --help` lists, and over generated EARLYOOM_ARGS the thresholds,
--prefer and --avoid we read are those `earlyoom --dryrun` prints at start, and what we
call refused is what earlyoom refuses (Debian's earlyoom, installed by .ci/run)."""
from __future__ import annotations

import re
import subprocess
import time

import pytest
from conftest import need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.oomkillers.constants import FLAGS
from oomaudit.plugins.oomkillers.earlyoom import parse

from oomaudit.reading import Source

_SENDING = re.compile(r"sending SIGTERM when mem <= *([\d.]+)% and swap <= *([\d.]+)%,\s*"
                      r"SIGKILL when mem <= *([\d.]+)% and swap <= *([\d.]+)%")


@pytest.fixture(scope="module")
def earlyoom() -> str:
    return need_program("earlyoom", "the oracle of earlyoom's flags and thresholds")


def _version(program: str) -> tuple[int, ...]:
    out = subprocess.run([program, "-v"], capture_output=True, text=True, timeout=10)
    found = re.search(r"v(\d+(?:\.\d+)*)", out.stdout + out.stderr)
    assert found, out
    return tuple(int(p) for p in found.group(1).split("."))


def test_every_flag_we_parse_is_one_earlyoom_lists(earlyoom):
    help_text = subprocess.run([earlyoom, "--help"], capture_output=True, text=True,
                               timeout=10)
    listed = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", help_text.stdout +
                            help_text.stderr))
    installed = _version(earlyoom)
    ours = {flag for flag, (_, since) in FLAGS.items()
            if tuple(int(p) for p in since.split(".")) <= installed}
    assert ours - {"-i"} <= listed, ours - listed  # -i: accepted, ignored since v1.7
    # and a flag of a later version is one this earlyoom refuses, as we would for it
    later = sorted(set(FLAGS) - ours)
    for flag in later:
        assert _run(earlyoom, [flag, "x"] if FLAGS[flag][0] else [flag]) is None


def _run(earlyoom: str, args: list[str]):
    """What `earlyoom --dryrun -r 0 ARGS` prints at start: (mem term, swap term, mem kill,
    swap kill, prefer, avoid), or None when it exits refusing the arguments."""
    proc = subprocess.Popen([earlyoom, "--dryrun", "-r", "0", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    out, deadline = "", time.monotonic() + 10
    try:
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            out += line
            if "SIGKILL when" in line:
                break
    finally:
        proc.kill()
        rest, _ = proc.communicate(timeout=10)
    out += rest or ""
    found = _SENDING.search(out)
    if not found:
        assert "fatal" in out or "Try 'earlyoom --help'" in out or "invalid" in out \
            or "unrecognized" in out or "requires" in out, out
        return None
    prefer = re.search(r"match regex '(.*)'\n", out.split("Will avoid")[0])
    avoid = re.search(r"Will avoid killing process names that match regex '(.*)'\n", out)
    return (*(float(x) for x in found.groups()), prefer and prefer.group(1),
            avoid and avoid.group(1))


def _ours(tmp_path, args: list[str]):
    import shlex
    path = tmp_path / "earlyoom"
    path.write_text("EARLYOOM_ARGS=" + shlex.quote(" ".join(map(shlex.quote, args))) + "\n")
    config = parse(Source(path, "earlyoom", path.read_text()))
    if not config.starts:
        return None
    shown = (config.memory.term, config.swap.term, config.memory.kill, config.swap.kill)
    return (*(float(f"{x:.2f}") for x in shown), config.prefer, config.avoid)  # as printf


_NUMBER = st.one_of(st.integers(-5, 120).map(str),
                    st.floats(0, 110, allow_nan=False).map(lambda f: f"{f:.2f}"),
                    st.sampled_from(["", "0x10", "1e1", "5x", " 5", "inf", ".5"]))
_VALUE = st.one_of(_NUMBER, st.tuples(_NUMBER, _NUMBER).map(",".join))
_REGEX = st.sampled_from(["(^|/)(sshd|postgres)$", "^java$", "a|b", "[[:alpha:]]+"])
_OPTION = st.one_of(st.tuples(st.sampled_from(["-m", "-s"]), _VALUE).map(list),
                    st.tuples(st.sampled_from(["--prefer", "--avoid", "--pref", "--av"]),
                              _REGEX).map(list),
                    st.sampled_from([["-d"], ["-i"], ["-x"], ["extra"], ["--bogus"]]))


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(_OPTION, max_size=4).map(lambda opts: [w for o in opts for w in o]))
def test_thresholds_and_regexes_agree_with_earlyoom(earlyoom, tmp_path, args):
    assert _ours(tmp_path, args) == _run(earlyoom, args), args


@pytest.mark.parametrize("args", [[], ["-r", "3600"], ["-m", "5"], ["-m", "15", "-s", "5"],
                                  ["--avoid", "(^|/)(init|X|sshd|firefox)$"]])
def test_debian_examples_agree_with_earlyoom(earlyoom, tmp_path, args):
    """The values and examples of Debian's /etc/default/earlyoom."""
    assert _ours(tmp_path, args) == _run(earlyoom, args)
