"""The memory ledger counts each service once, names one overflow once, and cites the
budget once (issue 14 items 4 and 7, issue 18 item 2's point 5): fixtures laid out as real
repositories hold them, run through the CLI."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_no_traceback

from oomaudit.config import Settings
from oomaudit.discovery import system_host
from oomaudit.reading import Reader

MiB = 1 << 20

POOL = ("[www]\nuser = www-data\nlisten = /run/php/php8.2-fpm.sock\npm = dynamic\n"
        "pm.max_children = {children}\npm.start_servers = 2\npm.min_spare_servers = 1\n"
        "pm.max_spare_servers = 3\npm.max_requests = 500\n")


def report(oomaudit, *args) -> dict:
    proc = oomaudit(*map(str, args), "--format", "json")
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def write(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


# -- 14.4: count each service once --------------------------------------------------------

# A Laravel/Symfony-style docker/ folder: each service's config bind-mounted into its
# container, each container with a memory limit.
COMPOSE = """\
services:
  db:
    image: mariadb:10.11
    mem_limit: 2g
    volumes:
      - ./docker/mysql/my.cnf:/etc/mysql/conf.d/zz-tuning.cnf:ro
  pg:
    image: postgres:15
    command: postgres -c config_file=/etc/postgresql/postgresql.conf
    mem_limit: 1g
    volumes:
      - ./docker/postgres/postgresql.conf:/etc/postgresql/postgresql.conf:ro
  php:
    image: php:8.2-fpm
    mem_limit: 512m
    volumes:
      - ./docker/php/php-fpm.d/www.conf:/usr/local/etc/php-fpm.d/www.conf:ro
"""


def test_a_container_with_its_mounted_configs_counts_once(oomaudit, tmp_path):
    """The limit caps each process; my.cnf, postgresql.conf and the pool file inside are
    CONTAINER003's to judge against it, not second entries of the host's ledger."""
    write(tmp_path, {
        "docker-compose.yml": COMPOSE,
        "docker/mysql/my.cnf": "[mysqld]\ninnodb_buffer_pool_size = 1536M\nmax_connections = 50\n",
        "docker/postgres/postgresql.conf": "shared_buffers = 256MB\nmax_connections = 50\n"
                                           "work_mem = 4MB\n",
        "docker/php/php-fpm.d/www.conf": POOL.format(children=5)})
    found = report(oomaudit, "budget", tmp_path, "--ram", "8G")
    consumers = [(c["service"], c["bytes"]) for h in found["hosts"] for c in h["consumers"]]
    assert consumers == [("compose:db", 2048 * MiB), ("compose:pg", 1024 * MiB),
                         ("compose:php", 512 * MiB)]


def test_the_same_configs_outside_a_container_are_counted(oomaudit, tmp_path):
    """Without the compose file they are the host's own servers, each in the ledger."""
    write(tmp_path, {
        "etc/mysql/my.cnf": "[mysqld]\ninnodb_buffer_pool_size = 1536M\nmax_connections = 50\n",
        "etc/postgresql/15/main/postgresql.conf": "shared_buffers = 256MB\n",
        "etc/php/8.2/fpm/pool.d/www.conf": POOL.format(children=5)})
    found = report(oomaudit, "budget", tmp_path, "--ram", "8G")
    services = {c["service"] for h in found["hosts"] for c in h["consumers"]}
    assert {"mysql", "php-fpm"} <= services and any(s.startswith("postgresql") for s in services)


def test_a_units_memorymax_caps_its_server_in_the_ledger(oomaudit, tmp_path):
    """Debian's mariadb.service with a MemoryMax= drop-in, and a my.cnf sized for a bigger
    host: the kernel keeps MariaDB within 2 GiB, so the ledger counts 2 GiB (and says why);
    SYSTEMD007 judges the worst case against the limit, and HOST002 has nothing to add."""
    write(tmp_path, {
        "etc/systemd/system/mariadb.service": "[Unit]\nDescription=MariaDB\n[Service]\n"
                                              "Type=notify\nExecStart=/usr/sbin/mariadbd "
                                              "$MYSQLD_OPTS\n",
        "etc/systemd/system/mariadb.service.d/memory.conf": "[Service]\nMemoryMax=2G\n",
        "etc/mysql/my.cnf": "[mysqld]\ninnodb_buffer_pool_size = 4G\nmax_connections = 151\n"})
    found = report(oomaudit, "check", tmp_path, "--ram", "4G")
    [mysql] = [c for h in found["hosts"] for c in h["ledger"] if c["service"] == "mysql"]
    assert mysql["bytes"] == 2048 * MiB
    assert mysql["how"].endswith("; 4.7 GiB at worst, capped: MemoryMax=2G of mariadb.service "
                                 "(etc/systemd/system/mariadb.service.d/memory.conf:2)")
    rules = {f["rule"] for f in found["findings"]}
    assert "SYSTEMD007" in rules and "HOST002" not in rules


def test_overlapping_system_paths_name_a_file_once(tmp_path):
    """A reader naming etc/redis/redis.conf and etc/redis/*.conf reads redis.conf once: twice
    would be two instances in the ledger."""
    write(tmp_path, {"etc/redis/redis.conf": "maxmemory 1gb\n",
                     "etc/redis/sentinel.conf": "port 26379\n"})
    reader = Reader("overlap", lambda source: source,
                    system_paths=("etc/redis/redis.conf", "etc/redis/*.conf"))
    host = system_host(tmp_path, {"overlap": reader}, Settings(), {})
    assert sorted(p.name for _, p in host.files) == ["redis.conf", "sentinel.conf"]


# -- 14.7: one cause, one finding ---------------------------------------------------------

# MySQL sized for a bigger machine (a buffer pool of the whole 4 GiB), then a PHP-FPM pool.
OVERFLOW = {"etc/mysql/mariadb.conf.d/50-server.cnf":
            "[mysqld]\ninnodb_buffer_pool_size = 4G\nmax_connections = 151\n",
            "etc/php/8.2/fpm/pool.d/www.conf": POOL.format(children=10)}


def test_mysql_alone_overflowing_is_named_once(oomaudit, tmp_path):
    found = report(oomaudit, "check", write(tmp_path, OVERFLOW), "--ram", "4G")
    rules = sorted(f["rule"] for f in found["findings"])
    assert rules == ["HOST002", "MYSQL001", "MYSQL002"]  # no FPM001 with "-733 MiB left"
    [host002] = [f for f in found["findings"] if f["rule"] == "HOST002"]
    assert host002["message"].endswith("; mysql alone claims 4.7 GiB")


def test_a_pool_after_the_overflow_is_judged_against_what_the_rest_leaves(oomaudit,
                                                                          tmp_path):
    """The overflowing server is set aside, so a pool too big for the host on its own is
    still found, with numbers that are no negative room."""
    files = {**OVERFLOW, "etc/php/8.2/fpm/pool.d/www.conf": POOL.format(children=40)}
    found = report(oomaudit, "check", write(tmp_path, files), "--ram", "4G")
    [fpm] = [f for f in found["findings"] if f["rule"] == "FPM001"]
    assert "more than the 4.0 GiB of RAM left for PHP-FPM" in fpm["message"]
    whats = [e["what"] for e in fpm["evidence"]]
    assert any(w.startswith("set aside: mysql: 4.7 GiB") for w in whats), whats
    assert "= 4.0 GiB left for PHP-FPM" in whats


def test_a_service_the_others_leave_nothing_is_not_judged_and_host002_says_so(oomaudit,
                                                                              tmp_path):
    """No one consumer exceeds RAM, but MySQL and memcached together take all of it: the
    pool is not judged against a negative room, and HOST002 names it."""
    files = {"etc/mysql/my.cnf": "[mysqld]\ninnodb_buffer_pool_size = 2G\n",
             "etc/memcached.conf": "-m 2048\n",
             "etc/php/8.2/fpm/pool.d/www.conf": POOL.format(children=10)}
    found = report(oomaudit, "check", write(tmp_path, files), "--ram", "4G")
    assert not [f for f in found["findings"] if f["rule"] == "FPM001"]
    [host002] = [f for f in found["findings"] if f["rule"] == "HOST002"]
    assert any(e["what"].startswith("not judged by their own rules: ") and "php-fpm" in e["what"]
               for e in host002["evidence"]), host002["evidence"]


def test_mysql001_and_mysql002_propose_the_same_buffer_pool(oomaudit, tmp_path):
    found = report(oomaudit, "check", write(tmp_path, OVERFLOW), "--ram", "4G")
    fixes = {f["rule"]: f["fix"] for f in found["findings"] if f["rule"].startswith("MYSQL")}
    proposed = {rule: fix.split("#")[0].strip() for rule, fix in fixes.items()}
    assert proposed == {"MYSQL001": "innodb_buffer_pool_size = 2G",
                        "MYSQL002": "innodb_buffer_pool_size = 2G"}  # 50%: a web tier


def test_no_negative_buffer_pool_when_the_other_buffers_fill_ram(oomaudit, tmp_path):
    """2,000 connections' buffers alone exceed 70% of 4 GiB: MYSQL001 proposes 70% of RAM
    (never a negative pool), MYSQL002 the connections and buffers to lower."""
    files = {"etc/mysql/my.cnf": "[mysqld]\ninnodb_buffer_pool_size = 16G\n"
                                 "max_connections = 2000\n"}
    found = report(oomaudit, "check", write(tmp_path, files), "--ram", "4G")
    fixes = {f["rule"]: f["fix"] for f in found["findings"] if f["rule"].startswith("MYSQL")}
    assert fixes["MYSQL001"].startswith("innodb_buffer_pool_size = 2816M   # 70% of 4.0 GiB")
    assert fixes["MYSQL002"].startswith("lower max_connections and the per-thread buffers")


# -- 18.2 point 5: evidence names the budget once -----------------------------------------

def fleet(root: Path, hosts: int) -> Path:
    """A fleet repository without profiles (one host for all, as issue 18 measured it): per
    host a pool that overflows and a small memcached."""
    for n in range(hosts):
        write(root / f"hosts/host{n:05d}/etc", {
            "php/8.2/fpm/pool.d/www.conf": POOL.format(children=50),
            "memcached.conf": "-m 64\n"})
    return root


@pytest.mark.parametrize("hosts", [10])
def test_the_report_grows_linearly_with_the_hosts(oomaudit, tmp_path, hosts):
    sizes, longest = [], []
    for n in (hosts, 4 * hosts):
        proc = oomaudit("check", fleet(tmp_path / str(n), n), "--ram", f"{n * 100}M",
                        "--format", "json")
        assert_no_traceback(proc)
        findings = json.loads(proc.stdout)["findings"]
        assert sum(f["rule"] == "FPM001" for f in findings) == n  # each pool judged
        sizes.append(len(proc.stdout))
        longest.append(max(len(f["evidence"]) for f in findings if f["rule"] == "FPM001"))
    assert longest[0] == longest[1]  # a finding's evidence does not grow with the services
    assert sizes[1] <= 4.5 * sizes[0], sizes  # listing every consumer: 10.6x
