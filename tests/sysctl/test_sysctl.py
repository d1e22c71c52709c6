"""sysctl: the reader, the kernel's arithmetic and SYSCTL001-005, in-process and through
the real CLI (the differential tests against procps and systemd-sysctl are in
test_sysctl_oracle.py)."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from conftest import SHARED, assert_no_traceback, need_shared
from hypothesis import given, settings
from hypothesis import strategies as st
from oomaudit.plugins.memory.meminfo import parse_meminfo
from oomaudit.plugins.sysctl import document, kernel, policies, rules
from oomaudit.plugins.sysctl.constants import READER

from oomaudit.host import LIVE, ROOT, Fact, Host
from oomaudit.parsers import sysctl
from oomaudit.parsers.linescan import numbered
from oomaudit.parsers.sysctl import (
    PROCPS,
    SYSTEMD,
    display_name,
    kernel_int,
    looks_like_sysctl,
    parse_sysctl,
)
from oomaudit.reading import Source

FIXTURES = Path(__file__).parent / "fixtures"
LEDGER_STUB = {"PYTHONPATH": os.pathsep.join(
    p for p in (str(FIXTURES / "ledger_plugin"), os.environ.get("PYTHONPATH")) if p)}


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


# --- the reader -----------------------------------------------------------------------

def test_keys_separators_and_values():
    doc = parse_sysctl(" vm.overcommit_ratio   =   80 \n"
                       "vm/overcommit_memory=2\n"
                       "net.ipv4.conf.eth0/1.rp_filter = 2\n"
                       "-vm.nonexistent = 1\n"
                       "kernel.pid_max = 4194304 # trailing\n"
                       '; comment\n  # comment\nvm.dirty_ratio = "15"\n')
    got = [(a.key, a.value, a.line, a.ignore_errors) for a in doc.assignments[PROCPS]]
    assert got == [
        ("vm/overcommit_ratio", "80", 1, False),
        ("vm/overcommit_memory", "2", 2, False),
        ("net/ipv4/conf/eth0.1/rp_filter", "2", 3, False),
        ("vm/nonexistent", "1", 4, True),
        ("kernel/pid_max", "4194304 # trailing", 5, False),
        ("vm/dirty_ratio", '"15"', 8, False),
    ]
    assert display_name("net/ipv4/conf/eth0.1/rp_filter") == "net.ipv4.conf.eth0/1.rp_filter"
    assert doc.assignments[SYSTEMD] == doc.assignments[PROCPS]


def test_dialects_differ_where_the_programs_do():
    doc = parse_sysctl("- vm.swappiness = 1\nvm.swappiness = 5\rvm.dirty_ratio = 9\n")
    procps = [(a.key, a.value) for a in doc.assignments[PROCPS]]
    systemd = [(a.key, a.value) for a in doc.assignments[SYSTEMD]]
    assert procps == [(" vm/swappiness", "1"), ("vm/swappiness", "5\rvm.dirty_ratio = 9")]
    assert systemd == [("vm/swappiness", "1"), ("vm/swappiness", "5"), ("vm/dirty_ratio", "9")]


def test_bad_lines_are_problems_at_their_line():
    doc = parse_sysctl("vm.swappiness = 1\nsysctl -w vm.x\n= 5\n")
    assert [p.line for p in doc.problems] == [2, 3]


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("vm.ke/rn_l=-#; \t\r\n\v\f*?[]x0123\"'é\x85")),
               max_size=300))
def test_reader_never_raises_and_problems_stay_in_the_file(text):
    doc = parse_sysctl(text)
    lines = text.count("\n") + 1
    assert all(1 <= p.line <= lines for p in doc.problems)
    for dialect in (PROCPS, SYSTEMD):
        assert all(1 <= a.line <= lines for a in doc.assignments[dialect])
    source = Source(Path("x.conf"), "x.conf", text)
    document.parse(source)
    assert all(1 <= f.line <= lines for f in source.problems)
    looks_like_sysctl(text)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("vm.ke/=-#; \t\r\n\v\fx1")), max_size=200))
def test_a_file_reads_as_its_lines_each_read_alone(text):
    """parse_sysctl reads only the lines that may set something (one scan passes over
    comments and blanks): the same assignments and problems, numbered alike, as each line
    read alone (with the newline that ends it, but the last); a line passed over is one
    neither program reads anything on."""
    lines = text.split("\n")
    expected = {PROCPS: [], SYSTEMD: []}, []
    read = dict(numbered(sysctl._SETTING_LINE, text))
    for number, line in enumerate(lines, 1):
        assert read.get(number, line) == line
        if number not in read:
            problems = []
            assert list(sysctl._procps_line(line, number, number == len(lines), problems)) \
                == problems == [], repr(line)
            assert [a for part in line.split("\r") for a in sysctl._systemd_line(part, 1)] == []
        alone = parse_sysctl(line if number == len(lines) else line + "\n")
        for dialect in (PROCPS, SYSTEMD):
            expected[0][dialect].extend(a._replace(line=number)
                                        for a in alone.assignments[dialect])
        expected[1].extend(p._replace(line=number) for p in alone.problems)
    doc = parse_sysctl(text)
    assert (doc.assignments, doc.problems) == expected


@pytest.mark.parametrize("value, number", [
    ("60", 60), ("  60", 60), ("0x3c", 60), ("074", 60), ("060", 48), ("60 # x", 60),
    ("60\tx", 60), ("-1", -1), ("080", None), ("+60", None), ("60x", None), ("60#x", None),
    ('"60"', None), ("60,1", None), ("", None), ("1" * 25, None),
])
def test_kernel_int_as_measured(value, number):
    """Measured with ``echo V > /proc/sys/vm/swappiness`` on Linux 6.x."""
    assert kernel_int(value) == number


def test_sniffer_claims_every_realworld_sysctl_file_and_nothing_else():
    root = need_shared("realworld")
    for path in sorted(p for p in root.glob("*/*") if p.is_file()):
        head = path.read_bytes()[:4096].decode("utf-8", "replace")
        # an Ansible template of one reads as sysctl too: recognition skips it as a template
        # (oomaudit/recognise.py; tests/engine/test_templates.py)
        ours = path.parent.name == "sysctl" or path.name.endswith("__sysctl.conf.j2")
        assert looks_like_sysctl(head) == ours, path


_HEAD_PARTS = st.sampled_from(["vm.", "net/", "kernel.", "fs.", "vm", "swappiness", "a.b",
                               "=", " = ", "2", "#", ";", "-", " ", "\t", "\r", "\v", "\n",
                               "\n", "sysctl -w ", "x", "{{"])


@pytest.mark.parametrize("head", [
    "vm.swappiness = 10\n", "- vm.overcommit_memory=2\n", "\r\t net/ipv4/ip_forward=1\n",
    "# vm.swappiness = 10\n", ";#\t- kernel.panic = 1\n", "x.y = 1\nfs.file-max = 9\n",
])
def test_sniff_hint_admits_what_the_sniffer_claims(head):
    assert looks_like_sysctl(head)
    assert re.search(READER.sniff_hint, head, re.M)


@settings(max_examples=500, deadline=None)
@given(st.lists(_HEAD_PARTS, max_size=40).map("".join))
def test_sniff_hint_is_a_necessary_condition(head):
    """The registration's hint rules a file out before this sniffer is even imported, so it
    must match wherever the sniffer says yes."""
    if looks_like_sysctl(head):
        assert re.search(READER.sniff_hint, head, re.M), head


# --- the merge under --root -------------------------------------------------------------

def host_for(root: Path, ram: int | None = 8 << 30, swap: int | None = 0) -> Host:
    host = Host("tree", ROOT, root.resolve())
    if ram is not None:
        host.facts["ram"] = Fact(ram, "declared: --ram")
    if swap is not None:
        host.facts["swap"] = Fact(swap, "declared: --swap")
    return host


def test_shadowing_masking_and_the_two_programs(tmp_path):
    root = tree(tmp_path, {
        "usr/lib/sysctl.d/50-a.conf": "vm.overcommit_memory = 1\n",
        "etc/sysctl.d/50-a.conf": "vm.overcommit_memory = 2\n",
        "usr/lib/sysctl.d/60-b.conf": "vm.panic_on_oom = 1\n",
        "etc/sysctl.d/.hidden.conf": "vm.overcommit_ratio = 70\n",
        "etc/sysctl.conf": "vm.overcommit_ratio = 90\n",
    })
    (root / "etc/sysctl.d/60-b.conf").symlink_to("/dev/null")
    host = host_for(root)
    state = policies.persisted(host)
    procps, systemd = state.policies[PROCPS], state.policies[SYSTEMD]
    assert procps[kernel.MODE].value == systemd[kernel.MODE].value == 2
    assert procps[kernel.PANIC].value == systemd[kernel.PANIC].value == 0
    assert procps[kernel.RATIO].value == 90  # /etc/sysctl.conf, read last
    assert systemd[kernel.RATIO].value == 50  # neither the hidden file nor sysctl.conf
    assert not [f for f in host.diagnostics if f.rule == "CONF003"]  # a mask is not an error


def test_ratio_and_kbytes_the_last_written_counts(tmp_path):
    root = tree(tmp_path, {"etc/sysctl.d/10.conf": "vm.overcommit_kbytes = 1024\n",
                           "etc/sysctl.d/20.conf": "vm.overcommit_ratio = 70\n"})
    policy = policies.persisted(host_for(root)).policies[PROCPS]
    assert (policy[kernel.RATIO].value, policy[kernel.KBYTES].value) == (70, 0)
    (root / "etc/sysctl.d/30.conf").write_text("vm.overcommit_kbytes = 2048\n")
    policy = policies.persisted(host_for(root)).policies[PROCPS]
    assert (policy[kernel.RATIO].value, policy[kernel.KBYTES].value) == (0, 2048)


def test_rejected_value_keeps_the_previous_one(tmp_path):
    root = tree(tmp_path, {"etc/sysctl.d/10.conf": "vm.overcommit_memory = 2\n",
                           "etc/sysctl.d/20.conf": "vm.overcommit_memory = 3\n"})
    host = host_for(root)
    assert policies.persisted(host).policies[PROCPS][kernel.MODE].value == 2
    problems = [f for s in host.sources.values() for f in s.problems]
    assert [(f.rule, f.line) for f in problems] == [("CONF001", 1)]
    assert "rejects '3'" in problems[0].message


# --- the kernel's arithmetic ---------------------------------------------------------------

def test_commit_limit_matches_proc_meminfo_here():
    """Ours, from the live values, against the kernel's own CommitLimit on this machine."""
    info = parse_meminfo(Path("/proc/meminfo").read_text())
    if "CommitLimit" not in info:
        pytest.skip("this kernel does not report CommitLimit")
    host = Host("live", LIVE, Path("/"))
    live = policies.live_policy(host)
    limit, how = kernel.commit_limit(kernel.memory_for(host, live), live[kernel.RATIO].value,
                                     live[kernel.KBYTES].value)
    assert limit == info["CommitLimit"], how


def test_commit_limit_arithmetic():
    memory = kernel.Memory(Fact(8 << 30, "ram"), Fact(1 << 30, "huge"), Fact(2 << 30, "swap"))
    assert kernel.commit_limit(memory, 50, 0)[0] == (7 << 30) // 2 + (2 << 30)
    assert kernel.commit_limit(memory, 50, 1 << 20)[0] == (1 << 30) + (2 << 30)  # kbytes
    assert kernel.commit_limit(memory, 33, 0)[0] == (7 << 18) * 33 // 100 * 4096 + (2 << 30)


# --- rules through the CLI -------------------------------------------------------------

DB_TREE = {"etc/sysctl.d/90-oom.conf": "vm.overcommit_memory = 2\nvm.overcommit_ratio = 50\n",
           "etc/oomaudit-ledger.stub": "database 6G\n"}


def findings(proc, rule: str | None = None) -> list[dict]:
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    return [f for f in report["findings"] if rule is None or f["rule"] == rule]


def test_done_when_strict_overcommit_below_the_database_fires(oomaudit, tmp_path):
    root = tree(tmp_path / "host", DB_TREE)
    proc = oomaudit("scan", "--root", root, "--ram", "8G", "--swap", "0", "--format", "json",
                    env=LEDGER_STUB)
    [finding] = findings(proc, "SYSCTL001")
    assert proc.returncode == 1
    assert finding["path"].endswith("etc/sysctl.d/90-oom.conf")
    assert finding["line"] == 1
    assert "CommitLimit 4.0 GiB" in finding["message"] and "6.0 GiB" in finding["message"]
    evidence = " | ".join(e["what"] for e in finding["evidence"])
    assert "(RAM 8.0 GiB - huge pages 0 B) x 50% + swap 0 B = 4.0 GiB" in evidence
    assert "database: 6.0 GiB" in evidence
    assert "vm.overcommit_ratio = 75" in finding["fix"]  # 6 GiB of 8 GiB, rounded up
    assert "in /etc/sysctl.d/90-oom.conf:" in finding["fix"]  # the path on the host
    text = oomaudit("scan", "--root", root, "--ram", "8G", "--swap", "0", env=LEDGER_STUB)
    assert "SYSCTL001 high" in text.stdout and "Kernel memory policy" in text.stdout


@pytest.mark.parametrize("files, args", [
    ({"etc/sysctl.d/90-oom.conf": "vm.overcommit_memory = 2\nvm.overcommit_ratio = 80\n"},
     ["--swap", "2G"]),  # 6.4 GiB + 2 GiB of swap cover 6 GiB
    ({"etc/sysctl.d/90-oom.conf": "vm.overcommit_memory = 0\n"}, ["--swap", "0"]),
])
def test_strict_overcommit_that_fits_does_not_fire(oomaudit, tmp_path, files, args):
    root = tree(tmp_path / "host", {**DB_TREE, **files})
    proc = oomaudit("scan", "--root", root, "--ram", "8G", *args, "--format", "json",
                    env=LEDGER_STUB)
    assert findings(proc, "SYSCTL001") == []


def test_sysctl_conf_without_the_99_link_differs_at_boot(oomaudit, tmp_path):
    root = tree(tmp_path / "host", {
        "etc/sysctl.conf": "vm.overcommit_memory = 1\n",
        "usr/lib/systemd/systemd-sysctl": "",  # the tree boots with systemd
    })
    proc = oomaudit("scan", "--root", root, "--ram", "8G", "--format", "json")
    [finding] = findings(proc, "SYSCTL004")
    assert "'sysctl --system' sets 1, systemd-sysctl (boot) sets 0" in finding["message"]
    assert "99-sysctl.conf" in finding["fix"]
    (root / "etc/sysctl.d").mkdir()
    (root / "etc/sysctl.d/99-sysctl.conf").symlink_to("../sysctl.conf")
    proc = oomaudit("scan", "--root", root, "--ram", "8G", "--format", "json")
    assert findings(proc, "SYSCTL004") == []
    assert [f["rule"] for f in findings(proc) if f["rule"].startswith("SYSCTL")] == ["SYSCTL002"]


def expectations(path: Path) -> tuple[set[tuple[int, str]], set[str]]:
    """``# expect: RULE`` fires on the next non-comment line; ``# ok: RULE...`` never."""
    expected, never, pending = set(), set(), []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        m = re.match(r"\s*# (expect|ok): (.*)", line)
        if m and m.group(1) == "expect":
            pending.append(m.group(2).strip())
        elif m:
            never.update(m.group(2).split())
        elif line.strip() and not line.lstrip().startswith(("#", ";")):
            expected.update((number, rule) for rule in pending)
            pending = []
    return expected, never


def test_annotated_fixtures_in_check_mode(oomaudit):
    proc = oomaudit("check", FIXTURES / "check", "--ram", "8G", "--format", "json")
    got = findings(proc)
    for path in sorted((FIXTURES / "check").iterdir()):
        expected, never = expectations(path)
        here = [f for f in got if f["path"].endswith(path.name)]
        assert {(f["line"], f["rule"]) for f in here} == expected, path.name
        assert not {f["rule"] for f in here} & never, path.name
    policy = [f for f in got if f["rule"].startswith("SYSCTL")]
    assert all("checked on its own" in " ".join(e["what"] for e in f["evidence"])
               for f in policy)


def test_check_over_realworld_sysctl_files(oomaudit):
    folder = need_shared("realworld", "sysctl")
    proc = oomaudit("check", folder, "--ram", "8G", "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    got = findings(proc)
    assert not json.loads(proc.stdout)["errors"]
    by_file = {(Path(f["path"]).name, f["rule"]) for f in got}
    assert ("discourse-pro__localhost__etc__sysctl.conf", "SYSCTL002") in by_file
    assert ("Gandi__gandi-vm-config__sysctl.conf", "CONF001") in by_file  # '= 2 # Required'
    assert not any(rule == "SYSCTL003" for _, rule in by_file)  # panic_on_oom = 0 everywhere
    assert SHARED.exists()


# --- live -------------------------------------------------------------------------------------

def live_host(root: Path, values: dict[str, int]) -> Host:
    """A live host whose files live in ``root`` and whose /proc/sys says ``values``."""
    host = Host("live", LIVE, root.resolve())
    defaults = {k: v[2] for k, v in kernel.LIMITS.items()}
    host.cache["sysctl_live"] = kernel.Policy(
        {k: kernel.Setting(v, None) for k, v in {**defaults, **values}.items()})
    return host


def test_live_value_not_persisted(tmp_path):
    host = live_host(tree(tmp_path, {"etc/sysctl.d/10.conf": "vm.swappiness = 10\n"}),
                     {kernel.MODE: 1})
    [finding] = rules.check_sysctl004(host)
    assert "no sysctl file sets it" in finding.message
    assert "/etc/sysctl.d/90-oom.conf:\nvm.overcommit_memory = 1" in finding.fix
    assert "sysctl -w vm.overcommit_memory=0" in finding.fix


def test_persisted_value_not_applied(tmp_path):
    host = live_host(tree(tmp_path, {"etc/sysctl.d/10.conf": "vm.panic_on_oom = 1\n"}), {})
    [finding] = rules.check_sysctl004(host)
    assert finding.path.endswith("etc/sysctl.d/10.conf") and finding.line == 1
    assert "sysctl --system" in finding.fix and "sysctl -w vm.panic_on_oom=1" in finding.fix
    assert [f.rule for f in rules.check_sysctl003(host)] == []  # live value 0 counts


def test_live_matches_persisted_is_quiet(tmp_path):
    host = live_host(tree(tmp_path, {"etc/sysctl.d/10.conf": "vm.overcommit_memory = 0\n"}),
                     {})
    assert list(rules.check_sysctl004(host)) == []


def test_live_strict_mode_below_committed_as(tmp_path):
    host = live_host(tmp_path, {kernel.MODE: 2, kernel.RATIO: 10})
    host.cache["meminfo"] = {"MemTotal": 8 << 30, "SwapTotal": 0, "Hugetlb": 0,
                             "Committed_AS": 2 << 30}
    [finding] = rules.check_sysctl001(host)
    assert finding.path is None and "Committed_AS" in finding.message
    assert "vm.overcommit_ratio = 25" in finding.fix


def test_symlink_loop_and_dangling_link_are_conf003_not_crashes(tmp_path):
    root = tree(tmp_path, {"etc/sysctl.d/20-ok.conf": "vm.panic_on_oom = 1\n"})
    (root / "etc/sysctl.d/10-loop.conf").symlink_to("10-loop.conf")
    (root / "etc/sysctl.d/15-gone.conf").symlink_to("/nowhere/x.conf")
    (root / "run").mkdir()
    (root / "run/sysctl.d").symlink_to("sysctl.d")
    host = host_for(root)
    state = policies.persisted(host)
    assert state.policies[PROCPS][kernel.PANIC].value == 1
    notes = [f.message for f in host.diagnostics if f.rule == "CONF003"]
    assert len(notes) == 3 and any("nowhere/x.conf" in n for n in notes), notes
