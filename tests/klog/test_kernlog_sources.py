"""Where kernel logs are looked for, in which order, and what an unreadable one says."""
from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest

from oomaudit import livelog, logsources
from oomaudit.logsources import file_stream, log_files, read_events, rotation_order

KILL = (b"Nov 20 09:00:01 h kernel: Out of memory: Killed process 7 (mysqld) total-vm:1kB, "
        b"anon-rss:1kB, file-rss:0kB, shmem-rss:0kB\n")


def test_rotations_are_read_oldest_first():
    names = ["kern.log", "kern.log.1", "kern.log.10.gz", "kern.log.2.gz",
             "messages-20260201", "messages-20251231.gz"]
    ordered = [p.name for p in rotation_order([Path(n) for n in names])]
    assert ordered.index("kern.log.10.gz") < ordered.index("kern.log.2.gz") \
        < ordered.index("kern.log.1") < ordered.index("kern.log")
    assert ordered.index("messages-20251231.gz") < ordered.index("messages-20260201")


def test_kern_log_wins_over_messages_so_no_kill_counts_twice(tmp_path):
    for name in ("kern.log", "kern.log.1", "messages", "syslog"):
        (tmp_path / name).write_bytes(KILL)
    assert [p.name for p in log_files(tmp_path)] == ["kern.log.1", "kern.log"]
    (tmp_path / "kern.log").unlink()
    (tmp_path / "kern.log.1").unlink()
    assert [p.name for p in log_files(tmp_path)] == ["messages"]


def test_gzip_and_plain_rotations_read_together(tmp_path):
    with gzip.open(tmp_path / "kern.log.2.gz", "wb") as fh:
        fh.write(KILL)
    (tmp_path / "kern.log").write_bytes(KILL.replace(b"process 7", b"process 8"))
    scan = read_events([file_stream(p) for p in log_files(tmp_path)], None)
    assert [e.pid for e in scan.events] == [7, 8]
    assert [t.status for t in scan.tried] == ["read", "read"]


def test_corrupt_gzip_is_reported_not_raised(tmp_path):
    (tmp_path / "kern.log.3.gz").write_bytes(b"\x1f\x8b\x08\x00 not gzip at all")
    scan = read_events([file_stream(tmp_path / "kern.log.3.gz")], None)
    assert scan.events == [] and [t.status for t in scan.tried] == ["unreadable"]


def test_permission_hint_names_the_files_group(tmp_path):
    import grp
    log = tmp_path / "kern.log"
    log.write_bytes(KILL)
    log.chmod(0o640)
    group = grp.getgrgid(log.stat().st_gid).gr_name
    live = logsources.live_tree()
    assert f"readable by group '{group}'" in logsources._permission_hint(log, live)
    log.chmod(0o600)
    assert logsources._permission_hint(log, live) == "readable by root only"


def test_live_files_cover_the_boots_before_the_ring_buffer(tmp_path):
    (tmp_path / "kern.log").write_bytes(KILL)
    streams, tried = livelog.live_streams(None, log_dir=tmp_path)
    if any(t.label.startswith("journalctl") and t.status == "read" for t in tried) or \
            (streams and streams[0].label.startswith("journalctl")):
        pytest.skip("this machine keeps a journal: it alone is read")
    labels = [s.label for s in streams]
    assert str(tmp_path / "kern.log") in labels
    ring = [s for s in streams if s.label.startswith(("/dev/kmsg", "dmesg"))]
    if ring:
        assert labels[-1] == ring[0].label  # files first (older boots), then this boot
        assert streams[0].until is not None and ring[0].boot_time is not None
    assert tried[0].label.startswith("journalctl") and tried[0].detail


@pytest.mark.skipif(not os.access("/dev/kmsg", os.R_OK), reason="/dev/kmsg not readable here")
def test_kmsg_records_become_dmesg_lines():
    data = livelog.read_kmsg()
    first = data.split(b"\n", 1)[0]
    assert first.startswith(b"[") and b"] " in first


def test_live_sources_never_run_a_program_from_the_callers_path(oomaudit, tmp_path):
    """journalctl and dmesg come from the system's folders, whatever PATH says first."""
    fake = tmp_path / "bin"
    fake.mkdir()
    for name in ("journalctl", "dmesg"):
        script = fake / name
        script.write_text(f"#!/bin/sh\ntouch {tmp_path}/ran-{name}\n"
                          "echo 'Out of memory: Killed process 1 (planted)'\n")
        script.chmod(0o755)
    proc = oomaudit("logs", "--format", "json", env={
        "PATH": f"{fake}:{os.environ['PATH']}", "TZ": "Asia/Tokyo", "SYSTEMD_PAGER": "cat"})
    assert list(tmp_path.glob("ran-*")) == [] and "planted" not in proc.stdout
    for name in ("journalctl", "dmesg"):
        found = livelog.program(name)
        assert found is None or os.path.dirname(found) in livelog.SYSTEM_BIN.split(":")
