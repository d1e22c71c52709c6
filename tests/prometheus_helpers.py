"""What the Prometheus tests share (tests/reporters/test_prometheus.py, and
tests/integrations/test_contrib_systemd.py, whose timer writes the textfile): a tree whose
scan has findings, a ledger and kills, and the exposition text read back as prometheus_client
reads it."""
from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families


def kill_line(when: datetime, pid: int, comm: str) -> str:
    return (f"[{when.strftime('%a %b %d %H:%M:%S %Y')}] Out of memory: Killed process {pid} "
            f"({comm}) total-vm:4000000kB, anon-rss:2000000kB, file-rss:0kB, shmem-rss:0kB, "
            "UID:33 pgtables:100kB oom_score_adj:0\n")


def host_tree(parent: Path, name: str = "db1") -> tuple[Path, datetime]:
    """A tree with findings (MYSQL001, SYSTEMD001 for ssh, KLOG001), a ledger entry and
    three OOM kills of two processes; returns it and the time of mysqld's last kill."""
    root = parent / name
    for folder in ("etc/mysql", "etc/systemd/system", "var/log"):
        (root / folder).mkdir(parents=True)
    (root / "etc/mysql/my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 6G\n")
    (root / "etc/systemd/system/ssh.service").write_text("[Service]\nExecStart=/usr/sbin/sshd\n")
    (root / "etc/fstab").write_text("UUID=1 / ext4 defaults 0 1\n")
    last = datetime.now().replace(microsecond=0) - timedelta(hours=1)
    (root / "var/log/kern.log").write_text(
        kill_line(last - timedelta(hours=2), 10, "mysqld")
        + kill_line(last - timedelta(hours=1), 11, "php-fpm8.2")
        + kill_line(last, 12, "mysqld"))
    return root, last


def parse(text: str) -> dict:
    """{metric name: (type, help, {frozenset(labels): value})}, as prometheus_client reads it."""
    out = {}
    for family in text_string_to_metric_families(text):
        samples = {frozenset(s.labels.items()): s.value for s in family.samples}
        assert len(samples) == len(family.samples), f"duplicate series in {family.name}"
        out[family.name] = (family.type, family.documentation, samples)
    return out
