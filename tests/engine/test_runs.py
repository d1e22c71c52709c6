"""``Report.runs``: every rule run comes back as it was made, host by host, and a fleet's
runs, mostly alike from host to host, take little memory."""
from __future__ import annotations

import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from oomaudit.model import Rule, Severity
from oomaudit.report import ERROR, FAILED, PASSED, SKIPPED, RuleRun, Runs

RULES = [Rule(f"TEST{n:03d}", f"rule {n}", Severity.LOW, lambda host: []) for n in range(62)]


@given(st.lists(st.tuples(st.integers(0, 3),  # host
                          st.lists(st.tuples(st.sampled_from(RULES),
                                             st.sampled_from([PASSED, FAILED, SKIPPED, ERROR]),
                                             st.sampled_from(["", "no my.cnf file", "x\ny"])),
                                   min_size=1, max_size=8)),
                max_size=6))
def test_runs_come_back_as_made(hosts):
    made = [RuleRun(rule, f"host{h}", status, detail)
            for h, runs in hosts for rule, status, detail in runs]
    runs = Runs()
    for run in made:
        runs.append(run)
    assert list(runs) == made and len(runs) == len(made)
    assert list(runs) == made  # iterated twice, as the text reporter does
    assert list(Runs(made)) == made
    by_id = {rule.id: rule for rule in RULES}
    sent = [(host, tuple(r.id for r in rules), statuses, details)  # as a worker sends them
            for host, rules, statuses, details in Runs(made).packed()]
    received = Runs.unpacked(sent, lambda ids: tuple(by_id[i] for i in ids))
    assert list(received) == made and len(received) == len(made)
    merged = Runs(made[:1])
    merged.extend(received)
    assert list(merged) == made[:1] + made and len(merged) == len(made[:1]) + len(made)


def test_a_fleet_of_alike_hosts_takes_little_memory():
    tracemalloc.start()
    runs = Runs()
    for n in range(10_000):
        for rule in RULES:
            runs.append(RuleRun(rule, f"hosts/host{n:05d}", PASSED,
                                f"no {rule.id.lower()} file among the targets"))
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert len(runs) == 620_000
    assert held < 6 << 20  # 620,000 runs as tuples: over 50 MiB
