"""A real php-fpm master with a static pool of 2 children, started for this test and
stopped after it: ``oomaudit scan`` must size that pool's children from the running
workers (their PSS/RSS), not from memory_limit."""
from __future__ import annotations

import json

import psutil
from conftest import assert_no_traceback


def test_live_pool_is_sized_from_its_running_workers(oomaudit, running_pool):
    config, pids = running_pool
    # RAM below what two workers take: FPM001 fires, and its evidence shows their size
    proc = oomaudit("scan", "--ram", "4M", "--select", "FPM001", "--format", "json")
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    ours = [f for f in report["findings"] if "pool oomtest" in f["message"]]
    assert len(ours) == 1, report["findings"]
    finding = ours[0]
    assert finding["path"].endswith(config.name) and finding["line"] == 8
    assert "(measured average PSS)" in finding["message"] or \
        "(measured average RSS)" in finding["message"]
    live = [e for e in finding["evidence"] if e["what"].startswith("2 live workers of pool "
                                                                   "oomtest")]
    assert live and all(str(pid) in live[0]["source"] for pid in pids)
    assert not any(e["what"].startswith("php_admin_value[memory_limit]")
                   for e in finding["evidence"])  # not the memory_limit upper bound
    rss = [psutil.Process(pid).memory_info().rss for pid in pids]
    shown = float(live[0]["what"].split("average RSS ")[1].split(" MiB")[0])
    assert abs(shown - sum(rss) / len(rss) / 2**20) < 4  # the same processes, moments apart
