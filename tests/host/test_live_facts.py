"""Live RAM: measured with psutil, lowered to the cgroup limit inside a container."""
import json
from pathlib import Path

import psutil

from oomaudit.cgroups import cgroup_limit


def _cgroup_tree(tmp_path, files):
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_cgroup_v2_tightest_ancestor_wins(tmp_path):
    root = _cgroup_tree(tmp_path, {
        "system.slice/memory.max": "2147483648\n",
        "system.slice/db.service/memory.max": "max\n",
    })
    limit = cgroup_limit("0::/system.slice/db.service\n", root)
    assert limit == (2147483648, str(root / "system.slice/memory.max"))


def test_cgroup_v2_unlimited_is_none(tmp_path):
    root = _cgroup_tree(tmp_path, {"a/memory.max": "max\n", "memory.max": "max\n"})
    assert cgroup_limit("0::/a\n", root) is None


def test_cgroup_v1_memory_controller(tmp_path):
    root = _cgroup_tree(tmp_path, {
        "memory/docker/abc/memory.limit_in_bytes": "536870912\n",
        "memory/memory.limit_in_bytes": "9223372036854771712\n",  # v1's "no limit"
    })
    text = "12:cpu,cpuacct:/docker/abc\n9:memory:/docker/abc\n"
    assert cgroup_limit(text, root) == (536870912,
                                        str(root / "memory/docker/abc/memory.limit_in_bytes"))


def test_live_scan_reports_ram_with_its_source(oomaudit):
    data = json.loads(oomaudit("scan", "--format", "json", "--exit-zero").stdout)
    ram = data["hosts"][0]["facts"]["ram"]
    physical = psutil.virtual_memory().total
    limit = cgroup_limit(Path("/proc/self/cgroup").read_text())
    if limit and limit[0] < physical:
        assert ram["value"] == limit[0] and "cgroup" in ram["source"]
    else:
        assert ram["value"] == physical and ram["source"].startswith("live: psutil")


def test_declared_ram_overrides_measurement(oomaudit):
    data = json.loads(oomaudit("scan", "--ram", "3G", "--format", "json", "--exit-zero").stdout)
    assert data["hosts"][0]["facts"]["ram"] == {"value": 3 << 30, "source": "declared: --ram"}
