"""The reader against memcached itself: memcached started on a Unix socket in a temporary
directory (never a TCP port), ``stats settings`` read for ``maxbytes``, for generated
command lines and memcached.conf files (through Debian's own systemd-memcached-wrapper,
which needs root) and Debian's shipped /etc/memcached.conf; a value the reader says
memcached refuses must stop memcached."""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

import pytest
from conftest import IN_CI, need_program
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit.parsers import memcached
from oomaudit.reading import Source

WRAPPER = Path("/usr/share/memcached/scripts/systemd-memcached-wrapper")
SHIPPED = Path("/etc/memcached.conf")
ROOT = os.geteuid() == 0


def maxbytes(argv: list[str], sock: Path) -> int | None:
    """``stats settings`` maxbytes of a memcached started with ``argv`` (which listens on
    ``sock``), or None when it exits without listening; the process is always stopped."""
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if proc.poll() is not None:
                return None
            if time.monotonic() > deadline:
                raise AssertionError(f"memcached did not listen on {sock}: {argv}")
            time.sleep(0.02)
        with socket.socket(socket.AF_UNIX) as client:
            for _ in range(100):
                try:
                    client.connect(str(sock))
                    break
                except OSError:
                    time.sleep(0.02)
            client.sendall(b"stats settings\r\n")
            data = b""
            while not data.endswith(b"END\r\n"):
                chunk = client.recv(65536)
                assert chunk, data
                data += chunk
        [line] = [s for s in data.decode().split("\r\n") if s.startswith("STAT maxbytes ")]
        return int(line.split()[2])
    finally:
        proc.kill()
        proc.wait()
        sock.unlink(missing_ok=True)


def user() -> list[str]:
    return ["-u", "root"] if ROOT else []  # memcached run by root insists on -u


def expected(text: str) -> int | None:
    config = memcached.parse(Source(Path("memcached.conf"), "memcached.conf", text))
    return None if config.failed else config.memory.bytes


_VALUE = st.one_of(
    st.integers(min_value=-3, max_value=1 << 40).map(str),
    st.from_regex(r"\A[ +-]?[0-9]{1,12}[kmgKMGb]?[0-9a-z]?\Z"),
    st.sampled_from(["0", "1", "2", "3", "64", "1g", "2048m", "x", "4294967298", "-1",
                     "9223372036854775808"]))
_SPELLING = st.sampled_from(["-m {}", "-m{}", "--memory-limit={}", "--memory-limit {}",
                             "--memory-l {}", "-vm {}", "-m {} # comment"])
_OTHER = st.sampled_from(["-d", "logfile /var/log/memcached.log", "-p 11211", "-c 1024",
                          "-v", "# -m 5", "", "  -t 2  ", "-M"])
_CONF = st.lists(st.one_of(st.tuples(_SPELLING, _VALUE).map(lambda sv: sv[0].format(sv[1])),
                           _OTHER), max_size=5).map("\n".join)


@pytest.fixture(scope="module")
def program() -> str:
    return need_program("memcached", "the oracle of the memcached.conf reader")


@settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=_CONF)
def test_command_lines_agree_with_memcached(program, tmp_path_factory, text):
    sock = tmp_path_factory.mktemp("mc") / "sock"
    words = [w for n, line in memcached.wrapper_lines(text) for w in line.split()]
    got = maxbytes([program, *words, *user(), "-s", str(sock)], sock)
    assert got == expected(text), (text, words)


def wrapper_oracle(tmp_path: Path, text: str) -> int | None:
    if not ROOT:
        if IN_CI:
            pytest.fail("systemd-memcached-wrapper refuses to run but as root; CI runs as root")
        pytest.skip("systemd-memcached-wrapper runs only as root")
    need_program("perl", "runs Debian's systemd-memcached-wrapper")
    if not WRAPPER.is_file():
        if IN_CI:
            pytest.fail(f"{WRAPPER} missing in CI (Debian's memcached package)")
        pytest.skip(f"{WRAPPER} not installed (Debian's memcached package)")
    sock = tmp_path / "sock"
    conf = tmp_path / "memcached.conf"
    conf.write_text(f"{text}\n-u root\n-s {sock}\n")
    return maxbytes(["perl", str(WRAPPER), str(conf)], sock)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(text=_CONF)
def test_files_through_debians_wrapper_agree(program, tmp_path_factory, text):
    assert wrapper_oracle(tmp_path_factory.mktemp("wrap"), text) == expected(text), text


def test_debians_shipped_memcached_conf(program, tmp_path):
    if not SHIPPED.is_file():
        if IN_CI:
            pytest.fail(f"{SHIPPED} missing in CI (Debian's memcached package)")
        pytest.skip(f"{SHIPPED} not installed (Debian's memcached package)")
    # its -P (a pid file under /var/run) and -l would touch the machine: the socket wins
    text = "\n".join(line for line in SHIPPED.read_text().split("\n")
                     if not line.startswith(("-P", "-l", "-u", "-p")))
    assert expected(SHIPPED.read_text()) == 64 << 20
    assert wrapper_oracle(tmp_path, text) == 64 << 20
