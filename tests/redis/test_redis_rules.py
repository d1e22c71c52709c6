"""REDIS001-REDIS005 fired and not fired, the instances a host has (includes, Sentinel,
files that include each other), and what each instance puts in the memory ledger."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from oomaudit.plugins.redis import rules
from oomaudit.plugins.redis.constants import READER
from oomaudit.plugins.sysctl import kernel

from oomaudit import Severity
from oomaudit.cli import main
from oomaudit.host import LIVE, Host
from oomaudit.parsers import redisconf

GiB = 1 << 30


def audit(*args) -> tuple[int, dict]:
    """``oomaudit ARGS --format json`` in-process: (exit code, report)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*map(str, args), "--format", "json"])
    return code, json.loads(out.getvalue())


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def check(tmp_path, text: str, *args, name: str = "redis.conf") -> tuple[int, list[dict]]:
    conf = tmp_path / name
    conf.write_text(text)
    code, report = audit("check", conf, *args)
    assert report["errors"] == []
    return code, report


def found(report: dict, rule: str) -> list[dict]:
    return [f for f in report["findings"] if f["rule"] == rule]


def ledger(report: dict) -> list[tuple[str, int, str]]:
    return [(c["service"], c["bytes"], c["how"]) for h in report["hosts"] for c in h["ledger"]
            if c["service"] == "redis"]


# -- REDIS001: no maxmemory --------------------------------------------------------------

def test_redis001_no_maxmemory(tmp_path):
    code, report = check(tmp_path, "port 6379\n", "--ram", "8G", "--select", "REDIS")
    [finding] = report["findings"]
    assert code == 1 and finding["rule"] == "REDIS001" and finding["severity"] == "low"
    assert finding["line"] is None and finding["path"].endswith("redis.conf")
    # 8 GiB left, 80% of it, halved for the default RDB snapshots' fork
    assert finding["fix"].splitlines()[1] == f"maxmemory {int(8 * 1024 * 0.8) // 2}mb"
    assert any("save 3600 1 300 100 60 10000 (Redis default)" in e["what"]
               for e in finding["evidence"])
    assert ledger(report) == [("redis", 0, "maxmemory not set: no limit, nothing to count "
                                           "(REDIS001)")]


def test_redis001_maxmemory_0_is_no_limit_and_a_limit_passes(tmp_path):
    _, report = check(tmp_path, "maxmemory 0\n", "--select", "REDIS001")
    [finding] = report["findings"]
    assert finding["line"] == 1 and "maxmemory 2gb" in finding["fix"]  # no RAM: an example
    _, report = check(tmp_path, "maxmemory 100mb\n", "--select", "REDIS001")
    assert report["findings"] == []


# -- REDIS002 / REDIS003: against the RAM left -------------------------------------------

def test_redis002_maxmemory_above_ram(tmp_path):
    code, report = check(tmp_path, 'maxmemory 6gb\nsave ""\n', "--ram", "4G",
                         "--select", "REDIS")
    [finding] = report["findings"]
    assert (finding["rule"], finding["severity"], finding["line"]) == ("REDIS002", "high", 1)
    assert "maxmemory 6.0 GiB is above the 4.0 GiB" in finding["message"]
    assert f"maxmemory {int(4 * 1024 * 0.8)}mb" in finding["fix"]  # no fork: not halved
    assert ledger(report) == [("redis", 6 * GiB, "maxmemory 6.0 GiB (the dataset as Redis "
                                                 "counts it); no persistence fork")]


@pytest.mark.parametrize("text, fires", [
    ("maxmemory 3gb\n", True),  # the default save lines fork
    ("maxmemory 1gb\n", False),
    ('maxmemory 3gb\nsave ""\n', False),
    ('maxmemory 3gb\nsave ""\nappendonly yes\n', True),  # AOF rewrites fork
    ('maxmemory 3gb\nsave ""\nappendonly yes\nauto-aof-rewrite-percentage 0\n', False),
    ("maxmemory 3g\n", True),  # 3 * 10^9 bytes: 2.8 GiB, twice it above 4 GiB
])
def test_redis003_the_fork_doubles_it(tmp_path, text, fires):
    _, report = check(tmp_path, text, "--ram", "4G", "--select", "REDIS002,REDIS003")
    assert [f["rule"] for f in report["findings"]] == (["REDIS003"] if fires else [])
    if fires:
        [finding] = report["findings"]
        assert finding["severity"] == "medium" and finding["line"] == 1
        assert 'save ""\nappendonly no' in finding["fix"]


def test_ledger_counts_the_fork_and_other_services_leave_less(tmp_path):
    project = tree(tmp_path / "repo", {
        "redis.conf": "maxmemory 2gb\nsave 900 1\n",
        "my.cnf": "[mysqld]\ninnodb_buffer_pool_size = 4G\nmax_connections = 10\n"})
    _, report = audit("check", project, "--ram", "8G", "--select", "REDIS,HOST002")
    [(_, nbytes, how)] = ledger(report)
    assert nbytes == 4 * GiB
    assert how == ("maxmemory 2.0 GiB (the dataset as Redis counts it) + up to 2.0 GiB copied "
                   "on write while a fork runs (RDB snapshots: save 900 1 (repo/redis.conf:2))"
                   .replace("repo/", f"{project}/"))
    [finding] = found(report, "REDIS003")  # mysql leaves less than 4 GiB
    assert any(e["what"].startswith("- mysql: ") for e in finding["evidence"])


def test_two_instances_leave_each_other_less(tmp_path):
    project = tree(tmp_path, {"redis-a.conf": 'maxmemory 5gb\nsave ""\n',
                              "redis-b.conf": 'maxmemory 5gb\nsave ""\n'})
    _, report = audit("check", project, "--ram", "8G", "--select", "REDIS002")
    assert sorted(Path(f["path"]).name for f in report["findings"]) == [
        "redis-a.conf", "redis-b.conf"]
    assert all("the 3.0 GiB of RAM" in f["message"] for f in report["findings"])


# -- REDIS004: vm.overcommit_memory --------------------------------------------------------

@pytest.mark.parametrize("sysctl, expected", [
    ("vm.overcommit_memory = 2\n", [("REDIS004", "medium")]),
    ("vm.overcommit_memory = 0\n", [("REDIS004", "low")]),
    ("vm.overcommit_memory = 1\n", []),
    (None, []),  # a repository without a sysctl file: the host's value is unknown
])
def test_redis004_overcommit_in_a_repository(tmp_path, sysctl, expected):
    files = {"redis.conf": "maxmemory 1gb\n"}
    if sysctl is not None:
        files["sysctl.conf"] = sysctl
    _, report = audit("check", tree(tmp_path, files), "--select", "REDIS004")
    assert [(f["rule"], f["severity"]) for f in report["findings"]] == expected
    if expected:
        [finding] = report["findings"]
        assert finding["path"].endswith("redis.conf")
        assert "vm.overcommit_memory = 1\nthen: sysctl -w vm.overcommit_memory=1" in \
            finding["fix"]
        assert any(e["source"].endswith("sysctl.conf:1") for e in finding["evidence"])


def test_redis004_in_a_tree_uses_the_persisted_value(tmp_path):
    root = tree(tmp_path, {"etc/redis/redis.conf": "maxmemory 1gb\n"})
    _, report = audit("scan", "--root", root, "--select", "REDIS004")
    [finding] = report["findings"]  # no sysctl file: the kernel's default 0
    assert finding["severity"] == "low" and finding["path"].endswith("etc/redis/redis.conf")
    tree(root, {"etc/sysctl.d/30-redis.conf": "vm.overcommit_memory = 1\n"})
    _, report = audit("scan", "--root", root, "--select", "REDIS004")
    assert report["findings"] == []


# -- REDIS005: transparent huge pages (here from a tree's kernel command line) -----------

@pytest.mark.parametrize("text, grub, expected", [
    ("disable-thp no\n", "always", (1, "medium")),
    ("maxmemory 1gb\n", "always", (None, "low")),  # protected on 7.0+ only
    ("disable-thp yes\n", "always", None),
    ("disable-thp no\n", "madvise", None),
    ("disable-thp no\n", None, None),  # nothing sets it: the kernel's build default
])
def test_redis005_thp_always(tmp_path, text, grub, expected):
    files = {"etc/redis/redis.conf": text}
    if grub:
        files["etc/default/grub"] = f'GRUB_CMDLINE_LINUX="quiet transparent_hugepage={grub}"\n'
    _, report = audit("scan", "--root", tree(tmp_path, files), "--select", "REDIS005")
    if expected is None:
        assert report["findings"] == []
        return
    [finding] = report["findings"]
    assert (finding["line"], finding["severity"]) == expected
    assert finding["evidence"][0]["source"].endswith("etc/default/grub:1 (kernel command line "
                                                     "transparent_hugepage=)")
    assert "in /etc/redis/redis.conf:\ndisable-thp yes" in finding["fix"]
    assert "transparent_hugepage=madvise" in finding["fix"]


def test_redis004_live_value(tmp_path):
    """A live host (its files in tmp_path) whose /proc/sys says strict overcommit."""
    conf = tmp_path / "redis.conf"
    conf.write_text("maxmemory 1gb\n")
    host = Host("live", LIVE, tmp_path)
    host.docs["redis"] = [redisconf.parse(host.read(conf, READER))]
    host.cache["processes"] = []
    defaults = {k: v[2] for k, v in kernel.LIMITS.items()}
    host.cache["sysctl_live"] = kernel.Policy(
        {k: kernel.Setting(v, None) for k, v in {**defaults, kernel.MODE: 2}.items()})
    [finding] = rules.check_redis004(host)
    assert finding.severity == Severity.MEDIUM  # strict, and the default save lines fork
    assert finding.evidence[0].source == "live: /proc/sys/vm/overcommit_memory"


# -- instances -----------------------------------------------------------------------------

def test_includes_are_read_where_they_stand(tmp_path):
    root = tree(tmp_path, {
        "etc/redis/redis.conf": "maxmemory 1gb\ninclude /etc/redis/conf.d/*.conf\n"
                                "maxmemory-policy allkeys-lru\n",
        "etc/redis/conf.d/10-size.conf": "maxmemory 7gb\nmaxmemory-policy noeviction\n"})
    _, report = audit("scan", "--root", root, "--ram", "4G", "--select", "REDIS002")
    [finding] = report["findings"]
    assert finding["path"].endswith("conf.d/10-size.conf") and finding["line"] == 1
    assert any(e["what"] == "maxmemory-policy allkeys-lru" for e in finding["evidence"])


def test_an_included_file_given_too_is_no_instance_of_its_own(tmp_path):
    """Also a path the machine running the check has is not read: a repository's
    absolute include is looked up inside the repository only."""
    project = tree(tmp_path, {"etc/redis/redis.conf": "include /etc/redis/redis-extra.conf\n"
                                                      f"include {tmp_path}/elsewhere.conf\n",
                              "etc/redis/redis-extra.conf": "maxmemory 1gb\n",
                              "elsewhere.conf": "maxmemory 9gb\n"})
    _, report = audit("check", project / "etc", "--ram", "8G", "--select", "REDIS,HOST002")
    assert [nbytes for _, nbytes, _ in ledger(report)] == [2 * GiB]


def test_a_repository_laid_out_like_root_finds_absolute_includes(tmp_path):
    project = tree(tmp_path, {"hosts/c1/etc/redis/redis.conf":
                              "include /etc/redis/local.conf\n",
                              "hosts/c1/etc/redis/local.conf": 'maxmemory 9gb\nsave ""\n',
                              "hosts/c1/etc/fstab": ""})
    _, report = audit("check", project, "--ram", "8G", "--select", "REDIS002,CONF002")
    [finding] = report["findings"]
    assert finding["rule"] == "REDIS002" and finding["path"].endswith("c1/etc/redis/local.conf")


@pytest.mark.parametrize("files, message", [
    ({"etc/redis/redis.conf": "include /etc/redis/missing.conf\nmaxmemory 9gb\n"},
     "no such file; redis-server refuses to start"),
    ({"etc/redis/redis.conf": "include /etc/redis/a.conf\n",
      "etc/redis/a.conf": "include /etc/redis/redis.conf\nmaxmemory 9gb\n"},
     "include each other in a loop"),
])
def test_includes_redis_refuses_are_conf002_and_no_instance_is_judged(tmp_path, files,
                                                                       message):
    root = tree(tmp_path, files)
    _, report = audit("scan", "--root", root, "--ram", "4G", "--select", "CONF002,REDIS,HOST")
    [finding] = report["findings"]
    assert finding["rule"] == "CONF002" and message in finding["message"]
    assert ledger(report) == []


def test_a_glob_that_matches_nothing_is_skipped(tmp_path):
    root = tree(tmp_path, {"etc/redis/redis.conf": "include /etc/redis/conf.d/*.conf\n"
                                                   "maxmemory 1gb\n"})
    _, report = audit("scan", "--root", root, "--ram", "4G", "--select", "CONF,REDIS00")
    assert report["findings"] == [] or {f["rule"] for f in report["findings"]} <= {"REDIS004"}
    assert [nbytes for _, nbytes, _ in ledger(report)] == [2 * GiB]


def test_a_redis_conf_mounted_into_a_compose_service_is_the_containers(tmp_path):
    project = tree(tmp_path, {
        "compose.yaml": "services:\n  cache:\n    image: redis:7\n    mem_limit: 1g\n"
                        "    volumes:\n      - ./redis.conf:/usr/local/etc/redis/redis.conf\n",
        "redis.conf": "maxmemory 2gb\n"})
    _, report = audit("check", project, "--ram", "8G", "--select", "HOST002")
    assert [c["service"] for c in report["hosts"][0]["ledger"]] == ["compose:cache"]


def test_valkey_and_debian_instance_names_are_found_on_a_tree(tmp_path):
    root = tree(tmp_path, {"etc/redis/redis-cache.conf": "maxmemory 1gb\n",
                           "etc/valkey/valkey.conf": "maxmemory 1gb\n",
                           "etc/redis/sentinel.conf": "sentinel monitor m 127.0.0.1 6379 2\n"})
    _, report = audit("budget", "--root", root, "--ram", "8G")
    sources = sorted(Path(c["source"]).name for c in report["hosts"][0]["consumers"]
                     if c["service"] == "redis")
    assert sources == ["redis-cache.conf:1", "valkey.conf:1"]


def test_two_instances_including_one_file_get_a_finding_each(tmp_path):
    """The line is the shared file's; the key names the instance, so the fingerprints of the
    two findings differ."""
    root = tree(tmp_path, {"etc/redis/common.conf": 'maxmemory 9gb\nsave ""\n',
                           "etc/redis/redis-a.conf": "include /etc/redis/common.conf\n",
                           "etc/redis/redis-b.conf": "include /etc/redis/common.conf\n"})
    _, report = audit("scan", "--root", root, "--ram", "8G", "--select", "REDIS002")
    findings = report["findings"]
    assert [(Path(f["path"]).name, f["line"]) for f in findings] == [("common.conf", 1)] * 2
    assert len({f["fingerprint"] for f in findings}) == 2
