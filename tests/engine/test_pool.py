"""``--jobs``: a fleet's hosts audited by worker processes make the report one process makes,
whatever was read on the way (templates, suppressions, files the output must not replace,
a baseline), and the hosts really are audited in other processes."""
from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from engine_stub import json_report, one_line_error, stub_env

from oomaudit import cgroups, engine, pool
from oomaudit.cli import build_parser
from oomaudit.engine import audit_host
from oomaudit.invocation import hosts_for, load_registry

MY_CNF = "[mysqld]\ninnodb_buffer_pool_size = {pool}M\nmax_connections = {conns}\n"
POOL = "[www]\nlisten = /run/php/{n}.sock\npm = static\npm.max_children = {children}\n"
TEMPLATED = "[mysqld]\nmax_connections = {{ mysql_max_connections }}\n"
SUPPRESSED = ("# oomaudit: ignore[SWAP001] swap lives on the hypervisor\n"
              "proc /proc proc defaults 0 0\n")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fleet(tmp_path: Path, hosts: int = 6) -> Path:
    """Hosts whose MySQL and PHP-FPM fit some RAM and not other, one with a templated
    option file, one with a suppression no finding uses, one with a template skipped."""
    repo = tmp_path / "repo"
    for n in range(hosts):
        etc = repo / f"hosts/web{n}/etc"
        write(etc / "mysql/my.cnf", MY_CNF.format(pool=512 * (1 + n % 4), conns=100 + 50 * n))
        write(etc / "php/8.2/fpm/pool.d/www.conf", POOL.format(n=n, children=10 + 40 * n))
        write(etc / "fstab", SUPPRESSED if n == 2 else "/swapfile none swap sw 0 0\n")
    write(repo / "hosts/web1/etc/mysql/conf.d/tuning.cnf", TEMPLATED)
    write(repo / "hosts/web3/etc/mysql/conf.d/more.cnf.j2", MY_CNF)
    write(repo / ".oomaudit.toml", '[[hosts]]\neach = "hosts/*"\nram = "2GiB"\n')
    return repo


def without_time(report: dict) -> dict:
    return {k: v for k, v in report.items() if k != "generated_at"}


def test_workers_make_the_report_one_process_makes(oomaudit, tmp_path):
    repo = fleet(tmp_path)
    alone = json_report(oomaudit("check", ".", "--format", "json", "--jobs", "1", cwd=repo))
    apart = json_report(oomaudit("check", ".", "--format", "json", "--jobs", "2", cwd=repo))
    assert without_time(apart) == without_time(alone)
    # what the comparison covers: findings on several hosts, the template notices and the
    # unused suppression, all of which the workers met
    assert len({f["host"] for f in alone["findings"]}) > 2
    notices = "\n".join(alone["notices"])
    assert "templated, not judged" in notices and "skipped 1 template" in notices
    assert "unused suppression" in notices
    text = [oomaudit("check", ".", "--jobs", j, cwd=repo) for j in ("1", "2")]
    assert text[0].stdout == text[1].stdout and text[0].returncode == text[1].returncode == 1


def test_a_baseline_written_by_workers_hides_what_one_process_finds(oomaudit, tmp_path):
    repo = fleet(tmp_path)
    written = oomaudit("check", ".", "--write-baseline", "base.json", "--jobs", "2", cwd=repo)
    assert written.returncode == 0, written.stderr
    assert json.loads((repo / "base.json").read_text())
    proc = oomaudit("check", ".", "--format", "json", "--baseline", "base.json", "--jobs", "1",
                    cwd=repo)
    report = json_report(proc)
    assert report["findings"] == [] and report["summary"]["baselined"] > 0
    assert not any("no longer" in n for n in report["notices"])


def test_workers_name_the_files_they_read_to_the_output_guard(oomaudit, tmp_path):
    repo = fleet(tmp_path)
    target = repo / "hosts/web4/etc/mysql/my.cnf"
    before = target.read_text()
    proc = oomaudit("check", ".", "--jobs", "2", "--output", str(target), cwd=repo)
    assert "never writes to what it audits" in one_line_error(proc)
    assert target.read_text() == before


def test_hosts_are_audited_in_other_processes(tmp_path, monkeypatch):
    repo = fleet(tmp_path)
    monkeypatch.chdir(repo)
    args = build_parser(["check", "."]).parse_args(["check", "."])
    registry = load_registry(args)
    hosts, settings, _ = hosts_for(args, registry, [])

    def audit_where(registry, host, settings):
        part = audit_host(registry, host, settings)
        part.notices.append(str(os.getpid()))
        return part

    pids = {part.notices[-1] for part in pool.audited_apart(registry, hosts, settings, 2,
                                                            audit_where)}
    assert pids and str(os.getpid()) not in pids  # (which worker takes which host is theirs)


def test_how_many_processes(tmp_path, monkeypatch):
    repo = fleet(tmp_path)
    monkeypatch.chdir(repo)
    args = build_parser(["check", "."]).parse_args(["check", "."])
    hosts, _, _ = hosts_for(args, load_registry(args), [])
    assert len(hosts) == 6
    assert pool.workers(0, hosts) == 1  # 19 files: a pool would cost more than it saves
    assert pool.workers(3, hosts) == 3  # --jobs wins
    assert pool.workers(0, [hosts[0]]) == 1
    many = hosts[:1] * pool.FILES_FOR_A_POOL
    mask = os.sched_getaffinity(0)
    assert 1 <= pool.workers(0, many) <= len(mask)
    try:  # the CPUs this process may run on decide: one CPU, one process
        os.sched_setaffinity(0, {min(mask)})
        assert pool.workers(0, many) == 1
    finally:
        os.sched_setaffinity(0, mask)


def test_a_bad_number_of_jobs_is_a_usage_error(oomaudit, tmp_path):
    for bad in ("0", "-1", "many", "100000"):
        proc = oomaudit("check", ".", "--jobs", bad)
        assert proc.returncode == 2
        assert "--jobs" in one_line_error(proc) and "1 to 256" in proc.stderr


def test_a_worker_killed_mid_run_leaves_its_hosts_to_this_process(tmp_path, monkeypatch):
    """A worker SIGKILLed (as the OOM killer ends the largest process on a host short of
    memory) must not hang the run: the hosts whose reports had not come back are audited
    here, and the report is the one a single process makes, with a notice more."""
    repo = fleet(tmp_path, hosts=12)
    monkeypatch.chdir(repo)
    args = build_parser(["check", "."]).parse_args(["check", "."])
    registry = load_registry(args)
    main = os.getpid()

    def audit_or_die(registry, host, settings, progress=None):
        if os.getpid() != main and host.name == "hosts/web7":
            os.kill(os.getpid(), signal.SIGKILL)
        return audit_host(registry, host, settings, progress)

    def report(jobs: int) -> tuple[list, list[str]]:
        hosts, settings, _ = hosts_for(args, registry, [])
        made = engine.audit(registry, hosts, settings, "check", ".", jobs=jobs)
        return ([(host, f.rule, f.path, f.line, f.message) for host, f in made.findings]
                + [(h.name, h.facts) for h in made.hosts], made.notices)

    def stuck(*_):
        raise TimeoutError("the pool waits for a dead worker")

    monkeypatch.setattr(engine, "audit_host", audit_or_die)
    before = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        apart, notices = report(2)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, before)
    alone, expected = report(1)
    assert apart == alone and len({f[0] for f in alone}) > 4
    died = [n for n in notices if n not in expected]
    assert len(died) == 1 and "a worker process died" in died[0], notices
    assert "audited in the main process" in died[0]


def test_workers_end_with_the_main_process_however_it_ends(tmp_path):
    """The main process killed (SIGKILL by the OOM killer, SIGTERM by a `timeout` that
    signals it alone) must not leave its workers waiting for work for ever, each holding a
    copy of the hosts."""
    import psutil

    repo = tmp_path / "repo"
    for n in range(8):
        write(repo / f"hosts/h{n}/x.stub", "sleep 60\n")
    write(repo / ".oomaudit.toml", '[[hosts]]\neach = "hosts/*"\n')
    env = {**os.environ, **stub_env(), "OOMAUDIT_SYSTEM_CONFIG": str(tmp_path / "none")}
    for how in (signal.SIGKILL, signal.SIGTERM):
        main = subprocess.Popen([sys.executable, "-m", "oomaudit", "check", ".", "-j", "2"],
                                cwd=repo, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        workers: list = []
        try:
            for _ in range(200):  # until both workers are reading a file
                workers = psutil.Process(main.pid).children()
                if len(workers) == 2:
                    break
                time.sleep(0.05)
            assert len(workers) == 2
            main.send_signal(how)
            main.wait(10)
            gone, alive = psutil.wait_procs(workers, timeout=10)
            assert not alive, f"workers left running after {how.name}"
        finally:  # nothing left behind, whatever failed
            for process in [main, *workers]:
                with contextlib.suppress(ProcessLookupError, psutil.NoSuchProcess):
                    process.kill()
            main.wait()


def _cgroup_tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        write(root / name, text)
    return root


def test_the_cpu_quota_is_the_tightest_along_the_cgroups_path(tmp_path):
    """A tree laid out like /sys/fs/cgroup: v2's cpu.max and v1's cfs quota over period,
    an ancestor's quota binding its children, "max" and -1 meaning none."""
    v2 = _cgroup_tree(tmp_path / "v2", {"cpu.max": "max 100000\n",
                                        "kubepods/cpu.max": "300000 100000\n",
                                        "kubepods/pod1/cpu.max": "max 100000\n",
                                        "kubepods/pod1/app/cpu.max": "max 100000\n"})
    assert cgroups.cpu_limit("0::/kubepods/pod1/app\n", v2) == 3.0
    assert cgroups.cpu_limit("0::/\n", v2) is None
    v1 = _cgroup_tree(tmp_path / "v1", {"cpu/cpu.cfs_quota_us": "-1\n",
                                        "cpu/cpu.cfs_period_us": "100000\n",
                                        "cpu/ci/cpu.cfs_quota_us": "150000\n",
                                        "cpu/ci/cpu.cfs_period_us": "100000\n"})
    assert cgroups.cpu_limit("4:memory:/ci\n3:cpu,cpuacct:/ci\n", v1) == 1.5
    assert cgroups.cpu_limit("3:cpu,cpuacct:/\n", v1) is None
    assert cgroups.cpu_limit("3:cpu:/gone\n", v1) is None  # unreadable: no quota known


def test_a_process_in_a_cgroup_with_a_cpu_quota_starts_no_more_workers(tmp_path):
    """A real cgroup (v1's cpu controller, or v2's cpu.max) with a quota of one and a half
    CPUs: a process in it audits alone, whatever CPUs its affinity mask holds."""
    if os.geteuid() != 0:
        pytest.skip("creating a cgroup needs root")
    v1 = Path("/sys/fs/cgroup/cpu")
    if (v1 / "cpu.cfs_quota_us").exists():
        folder = v1 / f"oomaudit-test-{os.getpid()}"
        quota = {"cpu.cfs_period_us": "100000", "cpu.cfs_quota_us": "150000"}
    elif (v2 := Path("/sys/fs/cgroup/cgroup.subtree_control")).exists() and \
            "cpu" in v2.read_text().split():
        folder = Path(f"/sys/fs/cgroup/oomaudit-test-{os.getpid()}")
        quota = {"cpu.max": "150000 100000"}
    else:
        pytest.skip("no cgroup cpu controller to make a quota with")
    folder.mkdir()
    try:
        for name, value in quota.items():
            (folder / name).write_text(value)
        probe = ("import types\nfrom oomaudit import pool\n"
                 "host = types.SimpleNamespace(files=[None] * pool.FILES_FOR_A_POOL)\n"
                 "print(pool.workers(0, [host, host]))\n")
        proc = subprocess.run(["sh", "-c", f'echo $$ > {folder}/cgroup.procs && exec "$@"',
                               "sh", sys.executable, "-c", probe],
                              capture_output=True, text=True, timeout=60, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.split() == ["1"]
    finally:
        folder.rmdir()
