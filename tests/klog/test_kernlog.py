"""The OOM-report parser: excerpts by kernel version and framing, the real excerpts of
../shared/oom-logs, the fast scanner against the line-by-line reference, and robustness."""
from __future__ import annotations

import gzip
import io
import json
from datetime import datetime, timezone
from pathlib import Path

import pytest
from conftest import need_shared
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from oomaudit.parsers import kernlog_scan
from oomaudit.parsers.kernlog import KernlogParser, parse_lines, split_lines
from oomaudit.parsers.kernlog_scan import scan
from oomaudit.parsers.kernlog_table import Table
from oomaudit.parsers.logframe import parse_stamp

FIXTURES = Path(__file__).parent / "fixtures"
EXPECTED = json.loads((FIXTURES / "expected.json").read_text())
SEED = ("[Fri Feb 27 10:15:30 2026] Out of memory: Killed process 12345 (mysqld) "
        "total-vm:4567890kB, anon-rss:3456780kB, file-rss:0kB, shmem-rss:0kB, UID:111 "
        "pgtables:8000kB oom_score_adj:0")


def slow(data: bytes, name: str = "x") -> list[dict]:
    text = data.decode("utf-8", "replace")
    return [e.to_json() for e in parse_lines(split_lines(text), name)]


def fast(data: bytes, name: str = "x") -> list[dict]:
    return [e.to_json() for e in scan(io.BytesIO(data), KernlogParser(name))]


def assert_matches(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want), [(e["pid"], e["line"]) for e in got]
    for event, expected in zip(got, want, strict=True):
        for key, value in expected.items():
            assert event.get(key) == value, (key, event.get(key), value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_fixture_excerpts(name):
    data = (FIXTURES / name).read_bytes()
    got = fast(data, name)
    assert_matches(got, EXPECTED[name])
    assert got == slow(data, name)


def _real():
    folder = need_shared("oom-logs")
    expected = json.loads((folder / "expected.json").read_text())
    return folder, {k: v for k, v in expected.items() if not k.startswith("_")}


def test_real_excerpts_match_expected():
    folder, expected = _real()
    present = [name for name in expected if (folder / name).exists()]
    assert present, "no excerpt of expected.json is in ../shared/oom-logs"
    for name in present:
        data = (folder / name).read_bytes()
        got = fast(data, name)
        assert_matches(got, expected[name])
        assert got == slow(data, name), name


def test_real_memcg_excerpt_names_constraint_cgroup_and_limit():
    folder, _ = _real()
    path = folder / "030-dmesg-T-german-locale-lxc-nested-memcg-v2.log"
    if not path.exists():
        pytest.skip("excerpt 030 not present")
    [event] = fast(path.read_bytes())
    assert event["constraint"] == "CONSTRAINT_MEMCG"
    assert event["memcg"].startswith("/lxc/39004/ns/system.slice/docker-")
    assert event["oom_memcg"] == "/lxc/39004"
    assert (event["memcg_limit_kb"], event["memcg_usage_kb"]) == (31211520, 31211520)
    assert event["time"].startswith("2025-08-12T03:54:03")  # German 'Di' weekday understood


def test_seed_line_alone_is_one_event():
    [event] = fast(SEED.encode())
    assert (event["pid"], event["process"], event["anon_rss_kb"], event["uid"],
            event["oom_score_adj"]) == (12345, "mysqld", 3456780, 111, 0)
    assert event["timestamp"] == "Fri Feb 27 10:15:30 2026"
    local = datetime.fromisoformat(event["time"]).astimezone()
    assert local.replace(tzinfo=None) == datetime(2026, 2, 27, 10, 15, 30)


def test_crlf_does_not_leak_into_fields():
    [event] = fast((FIXTURES / "v5.4-k8s-memcg-dmesg-crlf.log").read_bytes())
    assert not any("\r" in str(v) for v in event.values())


def test_repeated_kills_are_separate_events_and_headers_are_not_reused():
    report = (FIXTURES / "v4.14-memcg-journal-short-iso.log").read_bytes()
    again = b"[9.0] Killed process 1000 (node) total-vm:1kB, anon-rss:1kB, file-rss:0kB\n"
    events = fast(report + again)
    assert [e["pid"] for e in events] == [999, 1000]
    assert events[1]["invoked_by"] is None and events[1]["memcg"] is None


def test_interleaved_lines_inside_a_report_do_not_break_it():
    lines = (FIXTURES / "v5.4-k8s-memcg-dmesg-crlf.log").read_bytes().splitlines(True)
    noise = b"[ 7001.100001] e1000e: eth0 NIC Link is Up 1000 Mbps Full Duplex\r\n"
    mixed = b"".join(line + noise for line in lines)
    [event] = fast(mixed)
    assert event["memcg_limit_kb"] == 2097152 and event["invoked_by"] == "java"
    assert event["line"] == 21


def test_scanner_is_exact_across_chunk_boundaries(monkeypatch):
    data = b"".join((FIXTURES / name).read_bytes() + b"filler line\n" * 7
                    for name in sorted(EXPECTED))
    reference = slow(data)
    monkeypatch.setattr(kernlog_scan, "CHUNK", 97)  # every line crosses a boundary somewhere
    assert fast(data) == reference
    assert len(reference) == sum(len(v) for v in EXPECTED.values())


def test_gzip_rotation_reads_like_plain(tmp_path):
    data = (FIXTURES / "v6.1-syslog-oom-group.log").read_bytes()
    with gzip.open(tmp_path / "kern.log.2.gz", "wb") as fh:
        fh.write(data)
    with gzip.open(tmp_path / "kern.log.2.gz", "rb") as fh:
        got = [e.to_json() for e in scan(fh, KernlogParser("x"))]
    assert got == fast(data)


def test_syslog_year_comes_from_the_reference_time():
    dec = datetime(2026, 1, 5, 12, 0).astimezone()
    stamp = parse_stamp("Dec 31 23:59:59 host kernel: ", reference=dec)
    assert stamp.absolute.year == 2025 and stamp.printed == "Dec 31 23:59:59"


def test_uptime_becomes_absolute_only_with_a_boot_time():
    assert parse_stamp("[  100.500000] ").absolute is None
    stamp = parse_stamp("[  100.500000] ", boot_time=1_700_000_000.0)
    assert stamp.absolute == datetime.fromtimestamp(1_700_000_100.5, timezone.utc)


def test_kill_without_numbers_is_partial_and_invents_nothing():
    [event] = fast(b"Out of memory: Killed process 4711 (java) total-vm:123kB, anon-r\n")
    assert event["partial"] and event["total_vm_kb"] == 123 and event["anon_rss_kb"] is None


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(
    st.binary(max_size=200),
    st.sampled_from([SEED.encode(), b"x invoked oom-killer: gfp_mask=0x0, order=-1",
                     b"oom-kill:constraint=,pid=,uid=", b"Killed process 9 (",
                     b"[ pid ]   uid  tgid total_vm      rss name", b"[ 1] 0 1 2 3",
                     b"memory: usage 1kB, limit 1kB, failcnt 1", b'{"MESSAGE": [256, -1]}',
                     b'{"MESSAGE": "Killed process 1 (a)", "__REALTIME_TIMESTAMP": "9e99"}',
                     b"Out of memory: Kill process 1 (a) score 1 or sacrifice child",
                     b"Tasks in / are going to be killed due to memory.oom.group set",
                     b"[Di Xyz 99 99:99:99 9999] Killed process 2 (b)",
                     b"[ 2] 5 6 7 8 bash x", b"[ 3] 1 2 3 9 swap", b"[ 2] 1 1 1 99 again",
                     b"Free swap  = 5kB", b"oom_reaper: reaped process 2 (bash)",
                     b'{"MESSAGE": "[ 4] 1 2 3 50 json"}'])),
    max_size=40))
@example([b"Out of memory: Kill process 0 () score 0", b"Killed process", b"",
          b"Killed process 0"])  # a line between selection and kill: no longer one report
@example([b"Out of memory: Kill process 0 () score 0", b"ill process", b"Killed process 0"])
def test_any_bytes_in_no_exception_out(chunks):
    """The scanner, which hands the lines between markers to the parser at once (task-table
    rows as text), finds what feeding every line finds, on any input."""
    data = b"\n".join(chunks)
    assert fast(data) == slow(data)


def test_lines_longer_than_a_record_are_skipped_and_line_numbers_stay_right(monkeypatch):
    """The reusable buffer drops a line over MAX_LINE (no printk record is that long), in
    the middle of a chunk and across chunks, and still counts it as one line."""
    monkeypatch.setattr(kernlog_scan, "CHUNK", 64)
    monkeypatch.setattr(kernlog_scan, "MAX_LINE", 256)
    kill = b"Out of memory: Killed process 7 (a) total-vm:1kB, anon-rss:2kB, file-rss:0kB"
    other = kill.replace(b" 7 ", b" 8 ")  # the same pid twice would be one kill reported twice
    data = b"\n".join([b"x" * 1000, kill, b"y" * 300, b"short", b"z" * 5000, other, b"w" * 700])
    events = fast(data)
    assert [(e["pid"], e["line"]) for e in events] == [(7, 2), (8, 6)]
    assert events == slow(data)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from([
    b"x invoked oom-killer: gfp_mask=0x0, order=0", b"[ pid ]   uid  tgid total_vm      rss name",
    b"[ 2] 5 6 7 8 bash", b"[ 3] 1 2 3 90 big one", b"[ 2] 1 1 1 99 again", b"filler",
    b"Free swap  = 5kB", b"oom_reaper: reaped process 2 (bash)", SEED.encode(),
    b"Out of memory: Killed process 3 (big)", b"memory: usage 1kB, limit 2kB, failcnt 3"]),
    max_size=60))
@example([b"x invoked oom-killer: gfp_mask=0x0, order=0", SEED.encode(), *[b"filler"] * 5,
          b"Out of memory: Killed process 3 (big)"])
@example([b"x invoked oom-killer: gfp_mask=0x0, order=0", b"Free swap  = 5kB",
          *[b"filler"] * 6, b"Out of memory: Killed process 3 (big)"])
def test_lines_skipped_at_once_end_reports_where_feeding_them_would(lines):
    """A report ends its tail, or its line budget, inside a run of lines the scanner hands
    over at once (short limits make it happen in a few lines): the same events either way."""
    from oomaudit.parsers import kernlog
    saved = kernlog.TAIL_LINES, kernlog.MAX_REPORT_LINES
    kernlog.TAIL_LINES, kernlog.MAX_REPORT_LINES = 3, 6
    try:
        data = b"\n".join(lines)
        assert fast(data) == slow(data)
    finally:
        kernlog.TAIL_LINES, kernlog.MAX_REPORT_LINES = saved


def test_rows_after_the_first_kill_are_not_its_task_table():
    """The kernel prints the table before the kill; a row after it (here before the
    oom.group members' kills) is no process the report ranked."""
    data = b"\n".join([
        b"x invoked oom-killer: gfp_mask=0x0, order=0",
        b"[  pid  ]   uid  tgid total_vm      rss pgtables_bytes swapents oom_score_adj name",
        b"[      2]     0     2       10        8        0        0             0 bash",
        b"[      3]     0     3       10        5        0        0             0 sh",
        b"Memory cgroup out of memory: Killed process 2 (bash) total-vm:40kB",
        b"Tasks in /x are going to be killed due to memory.oom.group set",
        b"[      9]     0     9       10   999999        0        0             0 late",
        b"Memory cgroup out of memory: Killed process 3 (sh) total-vm:40kB"])
    events = fast(data)
    assert [e["via"] for e in events] == [None, "oom.group"]
    assert [[t["pid"] for t in e["top"]] for e in events] == [[2, 3], [2, 3]]
    assert events == slow(data)


_ROW = st.builds(lambda prefix, pid, columns, name: f"{prefix}[{pid:>7}]{columns} {name}",
                 st.sampled_from(["", "Nov 27 10:46:42 db1 kernel: [10002.000000] "]),
                 st.integers(0, 40), st.lists(st.integers(-5, 10**7).map(" {:>8}".format),
                                              min_size=7, max_size=7).map("".join),
                 st.from_regex(r"[a-z0-9 ()\[\]-]{1,15}", fullmatch=True))


@settings(max_examples=300, deadline=None)
@given(st.lists(_ROW, max_size=30), st.integers(0, 40))
def test_a_table_read_as_bytes_ranks_as_read_as_text(rows, victim):
    """A table of ASCII and spaces is read as bytes with patterns that know only those; the
    same rows with a non-ASCII line beside them are read as text: the same answers."""
    columns = "uid tgid total_vm rss pgtables_bytes swapents oom_score_adj name".split()
    plain, text = Table(columns), Table(columns)
    plain.add("\n".join(rows))
    text.add("\n".join([*rows, "é"]))
    assert plain.victim(victim) == text.victim(victim)
    assert (plain._read[2], text._read[2]) == (True, False)  # one read each way
