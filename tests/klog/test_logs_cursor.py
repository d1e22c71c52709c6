"""``--since last``: each OOM kill reported once across runs, through growth, rotation
(renamed, compressed, copied and truncated), truncation, a lost position and a report that
could not be written; the journal's cursor with the real journalctl; the state file."""
from __future__ import annotations

import gzip
import json
import os
import shutil
import stat
import subprocess
import tempfile
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import IN_CI, assert_no_traceback, need_shared
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit import livelog, logcursor
from oomaudit.logcursor import Cursor, since_last

SCHEMA = json.loads(resources.files("oomaudit").joinpath("logs.schema.json").read_text())
FIXTURES = Path(__file__).parent / "fixtures"


def kill(pid: int, comm: str = "mysqld") -> str:
    return (f"Nov 20 09:00:01 db1 kernel: Out of memory: Killed process {pid} ({comm}) "
            "total-vm:4000kB, anon-rss:2000kB, file-rss:0kB, shmem-rss:0kB\n")


_SEQ = iter(range(1 << 62))


def noise(n: int) -> str:
    """Lines no kill, each unlike any other (a real log's time stamps see to that: the
    cursor knows a file by its first bytes)."""
    return "".join(f"Nov 20 09:00:0{i % 10} db1 kernel: e1000e: eth0 link up {next(_SEQ)}\n"
                   for i in range(n))


def run_json(oomaudit, *args, **kwargs) -> tuple[subprocess.CompletedProcess, dict]:
    proc = oomaudit("logs", *args, "--format", "json", **kwargs)
    assert_no_traceback(proc)
    data = json.loads(proc.stdout)
    jsonschema.validate(data, SCHEMA)
    return proc, data


def pids(data: dict) -> list[int]:
    return [e["pid"] for e in data["events"]]


# -- the done-when case, end to end ----------------------------------------------------
def test_a_log_that_grows_by_one_real_oom_report_gives_that_kill_once(oomaudit, tmp_path):
    first = need_shared("oom-logs", "010-rhel7-full-report-no-timestamps.log").read_bytes()
    second = need_shared("oom-logs", "029-global-6.1-full-report-no-timestamps.log").read_bytes()
    log = tmp_path / "kern.log"
    log.write_bytes(first)
    state = ["--since", "last", "--state-dir", "state"]
    proc, data = run_json(oomaudit, "kern.log", *state)
    assert proc.returncode == 1 and pids(data) == [6576]  # first run: the whole file
    assert "no position saved yet" in data["summary"]["text"]
    proc, data = run_json(oomaudit, "kern.log", *state)
    assert proc.returncode == 0 and pids(data) == []
    with open(log, "ab") as fh:
        fh.write(second)
    proc, data = run_json(oomaudit, "kern.log", *state)
    assert proc.returncode == 1 and pids(data) == [473206]
    [event] = data["events"]
    assert event["process"] == "doxygen" and event["line"] == 145 + 174  # lines of the file
    assert data["summary"]["text"].startswith("1 OOM kill since the previous run (")
    proc, data = run_json(oomaudit, "kern.log", *state)
    assert proc.returncode == 0 and pids(data) == []


def test_rotation_renamed_then_compressed_loses_and_repeats_nothing(oomaudit, tmp_path):
    log = tmp_path / "kern.log"
    log.write_text(noise(3) + kill(1))
    state = ["--since", "last", "--state-dir", "state"]
    assert pids(run_json(oomaudit, "kern.log", *state)[1]) == [1]
    with open(log, "a") as fh:  # written before the rotation, after the last run
        fh.write(kill(2) + noise(2))
    log.rename(tmp_path / "kern.log.1")
    log.write_text(kill(3))
    assert pids(run_json(oomaudit, "kern.log", *state)[1]) == [2, 3]
    with open(log, "a") as fh:
        fh.write(kill(4))
    with open(tmp_path / "kern.log.1", "rb") as src, \
            gzip.open(tmp_path / "kern.log.2.gz", "wb") as dst:
        shutil.copyfileobj(src, dst)  # logrotate's delaycompress, one rotation later
    (tmp_path / "kern.log.1").unlink()
    log.rename(tmp_path / "kern.log.1")
    proc, data = run_json(oomaudit, "kern.log", *state)  # no new kern.log yet
    assert proc.returncode == 1 and pids(data) == [4]
    log.write_text(kill(5))
    assert pids(run_json(oomaudit, "kern.log", *state)[1]) == [5]
    assert pids(run_json(oomaudit, "kern.log", *state)[1]) == []


def test_copytruncate_and_truncation_start_again(oomaudit, tmp_path):
    log = tmp_path / "kern.log"
    log.write_text(noise(40) + kill(1))
    state = ["--since", "last", "--state-dir", "state"]
    assert pids(run_json(oomaudit, "kern.log", *state)[1]) == [1]
    with open(log, "a") as fh:
        fh.write(kill(2))
    shutil.copyfile(log, tmp_path / "kern.log.1")  # copytruncate: the copy keeps the rest
    with open(log, "r+") as fh:
        fh.truncate(0)
        fh.write(noise(50) + kill(3))  # longer than the old offset, other first bytes
    assert pids(run_json(oomaudit, "kern.log", *state)[1]) == [2, 3]
    log.write_text(kill(4))  # truncated in place (> kern.log), no copy: shorter than before
    proc, data = run_json(oomaudit, "kern.log", *state)
    assert pids(data) == [4]
    assert "truncated or rewritten since the last run" in proc.stderr


def test_a_position_in_no_kept_log_falls_back_to_the_time_of_the_previous_run(tmp_path):
    log = tmp_path / "kern.log"
    log.write_text(kill(1))
    cursor = Cursor.load(tmp_path / "state", "logs")
    assert [e.pid for e in since_last(cursor, None, files=[log]).events] == [1]
    cursor.positions[str(log)]["saved_at"] = "2026-01-01T00:00:00+00:00"
    cursor.commit()
    log.rename(tmp_path / "archived")  # kept alive: the new file cannot reuse its inode
    log.write_text("[Sun Dec 28 10:00:00 2025] Out of memory: Killed process 7 (old) total-vm:1kB,"
                   " anon-rss:1kB, file-rss:0kB\n"
                   "[Mon Feb  2 10:00:00 2026] Out of memory: Killed process 8 (new) total-vm:1kB,"
                   " anon-rss:1kB, file-rss:0kB\n")
    cursor = Cursor.load(tmp_path / "state", "logs")
    scan = since_last(cursor, None, files=[log])
    assert [e.pid for e in scan.events] == [8] and scan.older == 1
    assert "is in no log kept now" in cursor.notices[0]


def test_a_line_still_being_written_is_read_next_time(tmp_path):
    log = tmp_path / "kern.log"
    line = kill(9)
    before = noise(2)
    log.write_text(before + line[:60])
    cursor = Cursor.load(tmp_path / "state", "logs")
    assert since_last(cursor, None, files=[log]).events == []
    assert cursor.positions[str(log)]["offset"] == len(before)
    with open(log, "a") as fh:
        fh.write(line[60:])
    [event] = since_last(cursor, None, files=[log]).events
    assert (event.pid, event.line, event.partial) == (9, 3, False)


def test_a_report_that_cannot_be_written_keeps_the_position(oomaudit, tmp_path):
    (tmp_path / "kern.log").write_text(kill(1))
    state = ["--since", "last", "--state-dir", "state"]
    failed = oomaudit("logs", "kern.log", *state, "-o", "no/such/dir/out.txt")
    assert failed.returncode == 2 and failed.stderr.count("\n") == 1
    assert not (tmp_path / "state" / "logs-cursor.json").exists()
    assert pids(run_json(oomaudit, "kern.log", *state)[1]) == [1]


# -- the state file --------------------------------------------------------------------
def test_state_folder_and_file_are_private_and_written_atomically(oomaudit, tmp_path):
    (tmp_path / "kern.log").write_text(kill(1))
    proc = oomaudit("logs", "kern.log", "--since", "last",
                    env={"OOMAUDIT_STATE_DIR": str(tmp_path / "var/lib/oomaudit")})
    assert proc.returncode == 1, proc.stderr
    folder = tmp_path / "var/lib/oomaudit"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    state = folder / "logs-cursor.json"
    assert stat.S_IMODE(state.stat().st_mode) == 0o600
    assert os.listdir(folder) == ["logs-cursor.json"]  # no temporary file left behind
    entry = json.loads(state.read_text())["positions"][str(tmp_path / "kern.log")]
    assert entry["offset"] == len(kill(1)) and entry["lines"] == 1


def test_scan_and_logs_keep_separate_positions(oomaudit, tmp_path):
    root = tmp_path / "root"
    (root / "var/log").mkdir(parents=True)
    (root / "var/log/kern.log").write_text(kill(1))
    scan = ["scan", "--root", root, "--ram", "8G", "--select", "KLOG", "--format", "json",
            "--since", "last", "--state-dir", "state"]
    found = json.loads(oomaudit(*scan).stdout)["findings"]
    assert [f["rule"] for f in found] == ["KLOG001"]
    assert "killed by the OOM killer once in 30 days" in found[0]["message"]
    assert json.loads(oomaudit(*scan).stdout)["findings"] == []
    logs = oomaudit("logs", root / "var/log/kern.log", "--since", "last", "--state-dir", "state")
    assert logs.returncode == 1  # the operator's logs did not see it yet
    with open(root / "var/log/kern.log", "a") as fh:
        fh.write(kill(2, "postgres"))
    found = json.loads(oomaudit(*scan).stdout)["findings"]
    assert [f["message"].split(",")[0] for f in found] == [
        "postgres killed by the OOM killer once since the previous scan"]
    assert found[0]["line"] == 2
    assert sorted(os.listdir(tmp_path / "state")) == ["logs-cursor.json", "scan-cursor.json"]


@pytest.mark.parametrize("content", [b"", b"{", b"\xff\xfe", b"[]", b'{"version": 1}',
                                     b'{"version": 1, "positions": {"/x": {"offset": -1}}}',
                                     b'{"version": 1, "positions": {"journal": {"cursor": '
                                     b'"$(reboot)", "saved_at": "2026-01-01T00:00:00+00:00"}}}',
                                     b"[" * 100_000])
def test_a_corrupt_state_is_a_notice_and_a_fresh_start(oomaudit, tmp_path, content):
    (tmp_path / "kern.log").write_text(kill(1))
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "logs-cursor.json").write_bytes(content)
    proc = oomaudit("logs", "kern.log", "--since", "last", "--state-dir", "state")
    assert_no_traceback(proc)
    assert proc.returncode == 1 and "mysqld ×1" in proc.stdout
    assert "oomaudit: notice: " in proc.stderr and "saved log position unreadable" in proc.stderr
    assert json.loads((tmp_path / "state" / "logs-cursor.json").read_text())["version"] == 1


@settings(max_examples=60, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=3)
                    | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=12))
def test_any_json_in_the_state_file_loads_or_is_a_notice(data):
    with tempfile.TemporaryDirectory() as folder:
        state = Path(folder, "logs-cursor.json")
        state.write_text(json.dumps({"version": 1, "positions": {"/k": data}}))
        cursor = Cursor.load(Path(folder), "logs")
        log = Path(folder, "kern.log")
        log.write_text(kill(1))
        since_last(cursor, None, files=[log])  # never raises
        assert cursor.positions[str(log)]["offset"] == len(kill(1))


def test_usage_errors_are_one_line(oomaudit, tmp_path):
    (tmp_path / "kern.log").write_text(kill(1))
    (tmp_path / "file").write_text("")
    cases = {
        ("-", "--since", "last"): "stdin has no position",
        ("kern.log", "--state-dir", "s"): "--state-dir keeps the position of --since last",
        ("kern.log", "--since", "last", "--state-dir", "file/sub"): "--state-dir file/sub",
    }
    for args, said in cases.items():
        proc = oomaudit("logs", *args, input="")
        assert proc.returncode == 2 and said in proc.stderr, proc.stderr
        assert proc.stderr.count("\n") == 1 and proc.stdout == ""
    gz = tmp_path / "kern.log.2.gz"
    gz.write_bytes(gzip.compress(kill(1).encode()))
    proc = oomaudit("logs", gz, "--since", "last", "--state-dir", "s")
    assert proc.returncode == 2 and "compressed rotation" in proc.stderr


# -- rotations, as a property: every kill written is reported exactly once -----------------
OPS = st.lists(st.sampled_from(["kill", "kills", "noise", "run", "rotate", "rotate-gz",
                                "copytruncate", "create"]), min_size=1, max_size=25)


def _rotate(folder: Path, compress: bool, copy: bool) -> None:
    names = sorted((p for p in folder.iterdir() if p.name.startswith("kern.log.")),
                   key=lambda p: -int(p.name.split(".")[2]))
    for path in names:  # kern.log.N[.gz] -> N+1, the oldest first
        n = int(path.name.split(".")[2])
        target = folder / (f"kern.log.{n + 1}" + (".gz" if path.name.endswith(".gz") else ""))
        if compress and n == 1 and not path.name.endswith(".gz"):
            target = folder / f"kern.log.{n + 1}.gz"
            target.write_bytes(gzip.compress(path.read_bytes()))
            path.unlink()
        else:
            path.rename(target)
    log = folder / "kern.log"
    if copy:
        shutil.copyfile(log, folder / "kern.log.1")
        with open(log, "r+") as fh:
            fh.truncate(0)
    elif log.exists():
        log.rename(folder / "kern.log.1")


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(OPS)
def test_rotations_lose_and_repeat_nothing(ops):
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        log = root / "kern.log"
        log.write_text("")
        written, reported, pid = [], [], 0
        for op in [*ops, "run"]:
            if op in ("kill", "kills", "noise") and not log.exists():
                log.write_text("")
            if op == "kill" or op == "kills":
                with open(log, "a") as fh:
                    for _ in range(1 if op == "kill" else 3):
                        pid += 1
                        written.append(pid)
                        fh.write(noise(pid % 3) + kill(pid))
            elif op == "noise":
                with open(log, "a") as fh:
                    fh.write(noise(7))
            elif op == "create" and not log.exists():
                log.write_text("")
            elif op in ("rotate", "rotate-gz", "copytruncate") and log.exists():
                _rotate(root, op == "rotate-gz", op == "copytruncate")
            elif op == "run":
                cursor = Cursor.load(root / "state", "logs")
                scan = since_last(cursor, None, files=[log])
                assert not scan.errors
                reported += [e.pid for e in scan.events]
                cursor.commit()
        assert reported == written


# -- the journal and the ring buffer ---------------------------------------------------
def _journal_remote() -> str:
    for path in ("/lib/systemd/systemd-journal-remote", "/usr/lib/systemd/systemd-journal-remote"):
        if os.access(path, os.X_OK):
            return path
    if IN_CI:
        pytest.fail("systemd-journal-remote is required in CI (it writes the journal files the "
                    "cursor test reads with journalctl); .ci/run must install it")
    pytest.skip("systemd-journal-remote not installed (writes a journal file for journalctl)")


def _journal_file(remote: str, folder: Path, name: str, messages: list[str], first: int) -> None:
    """A journal file holding kernel records, written by systemd's own writer."""
    export = folder / f"{name}.export"
    now = int(__import__("time").time() * 1e6)
    export.write_text("".join(
        f"__REALTIME_TIMESTAMP={now + n}\n__MONOTONIC_TIMESTAMP={first + n}\n"
        f"_BOOT_ID=38f1569c859041b8a9df757f0a160c23\n_TRANSPORT=kernel\nPRIORITY=3\n"
        f"_HOSTNAME=db1\nMESSAGE={message}\n\n" for n, message in enumerate(messages)))
    subprocess.run([remote, f"--output={folder / 'journal' / name}.journal", str(export)],
                   check=True, capture_output=True, timeout=60)


def test_the_journal_cursor_with_the_real_journalctl(tmp_path, monkeypatch):
    remote = _journal_remote()
    if livelog.program("journalctl") is None:
        pytest.skip("journalctl not installed") if not IN_CI else pytest.fail("no journalctl")
    (tmp_path / "journal").mkdir()
    line = kill(1).split("kernel: ", 1)[1].strip()
    _journal_file(remote, tmp_path, "a", ["e1000e: eth0 link up", line], 1)
    monkeypatch.setattr(livelog, "JOURNAL_ARGS",
                        (f"--directory={tmp_path / 'journal'}", *livelog.JOURNAL_ARGS))
    cursor = Cursor.load(tmp_path / "state", "logs")
    scan = since_last(cursor, None, live=True)
    assert [e.pid for e in scan.events] == [1]
    assert scan.tried[-1].label.startswith("journalctl")
    saved = cursor.positions["journal"]["cursor"]
    assert logcursor._JOURNAL_CURSOR.fullmatch(saved)
    cursor.commit()
    cursor = Cursor.load(tmp_path / "state", "logs")
    assert since_last(cursor, None, live=True).events == []
    _journal_file(remote, tmp_path, "b", [line.replace("process 1 ", "process 2 ")], 10)
    cursor.commit()
    cursor = Cursor.load(tmp_path / "state", "logs")
    assert [e.pid for e in since_last(cursor, None, live=True).events] == [2]
    assert cursor.positions["journal"]["cursor"] != saved


def test_the_ring_buffer_resumes_after_the_last_record_of_this_boot(tmp_path, monkeypatch):
    ring = [b"[    1.000000] Linux version 6.1.0\n",
            b"[  100.000001] Out of memory: Killed process 1 (a) total-vm:1kB, anon-rss:1kB\n"]

    def ring_buffer(tried):
        data = b"".join(ring)
        return livelog.Stream("/dev/kmsg (this boot)", lambda: __import__("io").BytesIO(data))
    monkeypatch.setattr(logcursor, "ring_buffer", ring_buffer)
    monkeypatch.setattr(logcursor, "journal", lambda *a, **k: None)
    monkeypatch.setattr(logcursor, "_boot_id", lambda: "boot-1")
    empty = tmp_path / "empty"
    empty.mkdir()
    cursor = Cursor.load(tmp_path / "state", "logs")
    assert [e.pid for e in since_last(cursor, None, live=True, log_dir=empty).events] == [1]
    assert cursor.positions["kmsg"]["usec"] == 100_000_001
    ring.append(b"[  200.000000] Out of memory: Killed process 2 (b) total-vm:1kB, "
                b"anon-rss:1kB\n")
    assert [e.pid for e in since_last(cursor, None, live=True, log_dir=empty).events] == [2]
    monkeypatch.setattr(logcursor, "_boot_id", lambda: "boot-2")  # a reboot: all of it is new
    assert [e.pid for e in since_last(cursor, None, live=True, log_dir=empty).events] == [1, 2]


# -- a file given by name is read whole ------------------------------------------------
def test_a_named_log_is_read_whole_unless_since_is_given(oomaudit, tmp_path):
    (tmp_path / "old.log").write_text(
        "[Mon Jan  6 10:00:00 2020] Out of memory: Killed process 7 (mysqld) total-vm:1kB, "
        "anon-rss:1kB, file-rss:0kB\n")
    proc, data = run_json(oomaudit, "old.log")
    assert proc.returncode == 1 and pids(data) == [7] and data["since"] is None
    proc, data = run_json(oomaudit, "old.log", "--since", "30d")
    assert proc.returncode == 0 and pids(data) == [] and data["summary"]["older"] == 1
    proc, data = run_json(oomaudit, "-", input=(tmp_path / "old.log").read_text())
    assert pids(data) == [7]
