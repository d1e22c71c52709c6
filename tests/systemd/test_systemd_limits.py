"""SYSTEMD007: a unit's memory limit against the worst case the ledger has for the service
inside, end to end through the CLI on trees written by each test."""
from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import IN_CI, assert_no_traceback, need_program, need_shared
from oomaudit.plugins.systemd.services import belongs, unit_patterns

# MariaDB's worst case with these: 4.0 GiB pool + server buffers + 150 connections, 4.7 GiB
MY_CNF = "[mysqld]\ninnodb_buffer_pool_size = 4G\nmax_connections = 150\n"
MARIADB = "[Unit]\nDescription=MariaDB\n[Service]\nExecStart=/usr/sbin/mariadbd\n"


def write(root: Path, rel: str, text: str) -> Path:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def run(oomaudit, root: Path, *args) -> list[dict]:
    proc = oomaudit("scan", "--root", root, "--ram", "16G", "--format", "json",
                    "--select", "SYSTEMD007", *args)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)["findings"]


def mariadb_tree(root: Path, dropin: str) -> Path:
    write(root, "etc/mysql/my.cnf", MY_CNF)
    write(root, "lib/systemd/system/mariadb.service", MARIADB)
    return write(root, "etc/systemd/system/mariadb.service.d/memory.conf", dropin)


def test_memorymax_below_the_mysql_worst_case_fires_with_both_numbers(oomaudit, tmp_path):
    mariadb_tree(tmp_path, "[Service]\nMemoryMax=2G\n")
    [finding] = run(oomaudit, tmp_path)
    assert finding["path"].endswith("mariadb.service.d/memory.conf") and finding["line"] == 2
    assert finding["severity"] == "high"
    assert "MemoryMax=2G (2.0 GiB)" in finding["message"]
    assert "worst case of the mysql it runs (4.7 GiB)" in finding["message"]
    evidence = {e["what"]: e["source"] for e in finding["evidence"]}
    assert any(w.startswith("mysql worst case 4.7 GiB") and s.endswith("my.cnf:3")
               for w, s in evidence.items())
    assert any(w.startswith("runs mysql: ExecStart runs mariadbd") for w in evidence)
    assert any(w.startswith("OOMPolicy=stop (the default)") for w in evidence)
    # either side: the limit (in the admin's own drop-in) or the service's settings
    assert "MemoryMax=6" in finding["fix"] and "systemctl restart mariadb.service" in \
        finding["fix"]
    assert "or lower the mysql settings" in finding["fix"]


def test_memorymax_above_the_worst_case_is_quiet(oomaudit, tmp_path):
    mariadb_tree(tmp_path, "[Service]\nMemoryMax=8G\n")
    assert run(oomaudit, tmp_path) == []


def test_no_limit_or_no_ledger_entry_is_quiet(oomaudit, tmp_path):
    write(tmp_path, "lib/systemd/system/mariadb.service", MARIADB + "MemoryMax=2G\n")
    assert run(oomaudit, tmp_path) == []  # no my.cnf: no worst case to compare with
    write(tmp_path, "etc/mysql/my.cnf", MY_CNF)
    write(tmp_path, "lib/systemd/system/mariadb.service", MARIADB)
    assert run(oomaudit, tmp_path) == []  # no limit: SYSTEMD005's business


def test_memoryhigh_alone_is_medium_and_memorymax_wins_over_it(oomaudit, tmp_path):
    dropin = mariadb_tree(tmp_path, "[Service]\nMemoryHigh=25%\n")
    [finding] = run(oomaudit, tmp_path)  # a share of the declared 16 GiB: 4.0 GiB
    assert finding["severity"] == "medium"
    assert "MemoryHigh=25% (4.0 GiB)" in finding["message"] and "throttles" in \
        finding["message"]
    dropin.write_text("[Service]\nMemoryHigh=30%\n")  # 4.8 GiB
    assert run(oomaudit, tmp_path) == []
    dropin.write_text("[Service]\nMemoryHigh=3G\nMemoryMax=8G\n")
    assert run(oomaudit, tmp_path) == []


def test_oompolicy_kill_and_the_v1_memorylimit(oomaudit, tmp_path):
    mariadb_tree(tmp_path, "[Service]\nMemoryLimit=1G\nOOMPolicy=kill\n")
    [finding] = run(oomaudit, tmp_path)
    assert finding["line"] == 2 and "MemoryLimit=1G" in finding["message"]
    whats = [e["what"] for e in finding["evidence"]]
    assert any(w.startswith("OOMPolicy=kill") and "memory.oom.group=1" in w for w in whats)
    assert "MemoryMax=" in finding["fix"]  # the fix writes the cgroup v2 key


def test_a_postgresql_instance_is_its_own_cluster(oomaudit, tmp_path):
    write(tmp_path, "lib/systemd/system/postgresql@.service",
          "[Service]\nExecStart=/usr/bin/pg_ctlcluster --skip-systemctl-redirect %i start\n")
    write(tmp_path, "etc/systemd/system/postgresql@.service.d/memory.conf",
          "[Service]\nMemoryMax=2G\n")
    write(tmp_path, "etc/postgresql/15/main/postgresql.conf", "shared_buffers = 4GB\n")
    write(tmp_path, "etc/postgresql/15/small/postgresql.conf", "shared_buffers = 64MB\n")
    found = run(oomaudit, tmp_path)
    # 15/small (about 1 GiB) fits: the largest cluster is not compared with every instance
    assert [f["message"].split(":")[0] for f in found] == ["postgresql@15-main.service"]
    assert "postgresql 15/main worst case" in json.dumps(found[0]["evidence"])


def test_a_container_is_not_the_units_service():
    assert belongs("postgresql 15/main", "postgresql") and belongs("mysql", "mysql")
    assert not belongs("compose:mysql", "mysql") and not belongs("postgresqlx", "postgresql")
    assert "postgresql@*" in unit_patterns("postgresql 15/main")
    assert unit_patterns("java") == ("tomcat*", "kafka*", "jenkins", "cassandra", "solr")


def test_realworld_php_fpm_drop_in_against_its_pool(oomaudit, tmp_path):
    """../shared/realworld holds one host's php8.4-fpm drop-in (MemoryHigh 16G, MemoryMax
    20G) and its pool (pm static, 64 children): 10 GiB at worst, under both."""
    real = need_shared("realworld")
    dropin = real / "systemd/TaylanUB__bg3wiki__etc__systemd__system__php8.4-fpm.service.d__" \
                    "override.conf"
    pool = real / "php-fpm/TaylanUB__bg3wiki__etc__php__8.4__fpm__pool.d__www.conf"
    write(tmp_path, "etc/systemd/system/php8.4-fpm.service.d/override.conf", dropin.read_text())
    write(tmp_path, "etc/php/8.4/fpm/pool.d/www.conf", pool.read_text())
    write(tmp_path, "etc/php/8.4/fpm/php-fpm.conf", "[global]\ninclude=/etc/php/8.4/fpm/"
                                                   "pool.d/*.conf\n")
    write(tmp_path, "lib/systemd/system/php8.4-fpm.service",
          "[Service]\nExecStart=/usr/sbin/php-fpm8.4 --nodaemonize\n")
    assert run(oomaudit, tmp_path, "--ram", "32G") == []
    # the same pool under a cap of its own size's half is judged, so the quiet is earned
    write(tmp_path, "etc/systemd/system/php8.4-fpm.service.d/zz-cap.conf",
          "[Service]\nMemoryMax=5G\n")
    [finding] = run(oomaudit, tmp_path, "--ram", "32G")
    assert "worst case of the php-fpm it runs (10.0 GiB)" in finding["message"]


def test_each_jvm_unit_is_held_to_its_own_heap(oomaudit, tmp_path):
    """Two JVM units: the small one's cap is compared with its own JVM, not the large one
    (the jvm plugin names the unit in its ledger entry, capped by the unit's limit)."""
    write(tmp_path, "etc/systemd/system/big.service",
          "[Service]\nExecStart=/usr/bin/java -Xmx8g -jar /opt/big.jar\nMemoryMax=16G\n")
    write(tmp_path, "etc/systemd/system/small.service",
          "[Service]\nExecStart=/usr/bin/java -Xmx512m -jar /opt/small.jar\nMemoryMax=2G\n")
    assert run(oomaudit, tmp_path, "--ram", "32G") == []


def test_two_servers_the_unit_names_its_own_or_the_smallest_is_compared(oomaudit, tmp_path):
    """Two redis.conf files: a unit whose ExecStart names one is held to that one; one that
    names none to the smaller (the finding must hold for either, and says so)."""
    write(tmp_path, "etc/redis/redis.conf", "maxmemory 1gb\nsave \"\"\nappendonly no\n")
    write(tmp_path, "etc/redis/redis-cache.conf", "maxmemory 6gb\nsave \"\"\nappendonly no\n")
    unit = write(tmp_path, "lib/systemd/system/redis-server.service",
                 "[Service]\nExecStart=/usr/bin/redis-server /etc/redis/redis.conf\n"
                 "MemoryMax=2G\n")
    assert run(oomaudit, tmp_path) == []  # its own 1 GiB, not the cache's 6 GiB
    unit.write_text("[Service]\nExecStart=/usr/bin/redis-server /etc/redis/redis-cache.conf\n"
                    "MemoryMax=2G\n")
    [finding] = run(oomaudit, tmp_path)
    assert "(6.0 GiB)" in finding["message"]
    unit.write_text("[Service]\nExecStart=/usr/bin/redis-server\nMemoryMax=512M\n")
    [finding] = run(oomaudit, tmp_path)
    assert "(1.0 GiB)" in finding["message"]
    assert "which of the 2 redis consumers" in json.dumps(finding["evidence"])


def test_each_mysql_unit_is_held_to_the_option_file_it_names(oomaudit, tmp_path):
    """Units of one host, each running mysqld --defaults-file=ITS_FILE: each finding is
    about its own server's worst case and lists that one alone."""
    sizes = {"db1": "6G", "db2": "1G", "db3": "3G"}
    for name, pool in sizes.items():
        write(tmp_path, f"etc/mysql/{name}.cnf", f"[mysqld]\ninnodb_buffer_pool_size = {pool}\n"
                                                 "max_connections = 10\n")
        write(tmp_path, f"etc/systemd/system/mysql-{name}.service",
              f"[Service]\nExecStart=/usr/sbin/mysqld --defaults-file=/etc/mysql/{name}.cnf\n"
              "MemoryMax=512M\n")
    proc = oomaudit("check", "--ram", "16G", "--format", "json", "--select", "SYSTEMD007",
                    ".", cwd=tmp_path)
    assert_no_traceback(proc)
    findings = {f["message"].split(":")[0]: f for f in json.loads(proc.stdout)["findings"]}
    assert set(findings) == {"mysql-db1.service", "mysql-db2.service", "mysql-db3.service"}
    for name, pool in sizes.items():
        finding = findings[f"mysql-{name}.service"]
        worst = [e for e in finding["evidence"] if e["what"].startswith("mysql worst case")]
        assert [e["source"].rpartition(":")[0] for e in worst] == [f"etc/mysql/{name}.cnf"]
        assert f"({pool[0]}." in finding["message"].split("worst case")[1]


def test_debians_redis_and_memcached_units(oomaudit, tmp_path):
    """The units and configs Debian's redis-server and memcached packages install, on a
    4 GiB profile: no limit, so quiet; a MemoryMax drop-in under the configured size is
    judged against the service the real unit runs (through memcached's wrapper too)."""
    need_program("dpkg", "lists the files Debian's packages install")
    for package in ("redis-server", "memcached"):
        listed = subprocess.run(["dpkg", "-L", package], capture_output=True, text=True)
        if listed.returncode != 0:
            if IN_CI:
                pytest.fail(f"{package} is not installed (.ci/run installs it)")
            pytest.skip(f"{package} is not installed")
        for name in listed.stdout.splitlines():
            if name.startswith(("/etc/", "/lib/systemd/", "/usr/lib/systemd/")) and \
                    Path(name).is_file():
                target = tmp_path / name.lstrip("/")
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(name, target)
    default = Path("/usr/share/memcached/memcached.conf.default")
    shutil.copyfile(default if default.is_file() else "/etc/memcached.conf",
                    tmp_path / "etc/memcached.conf")  # what memcached's postinst installs
    proc = oomaudit("scan", "--root", tmp_path, "--ram", "4G", "--format", "json")
    assert_no_traceback(proc)
    assert [f for f in json.loads(proc.stdout)["findings"]
            if f["rule"] == "SYSTEMD007" or f["rule"].startswith("VM")] == []
    for unit in ("redis-server", "memcached"):
        write(tmp_path, f"etc/systemd/system/{unit}.service.d/memory.conf",
              "[Service]\nMemoryMax=16M\n")
    found = {f["message"].split(":")[0]: f for f in run(oomaudit, tmp_path, "--ram", "4G")}
    # Debian's redis.conf sets no maxmemory: no worst case to compare (REDIS001 says so)
    assert set(found) == {"memcached.service"}
    with (tmp_path / "etc/redis/redis.conf").open("a") as conf:
        conf.write("maxmemory 100mb\n")
    found = {f["message"].split(":")[0]: f for f in run(oomaudit, tmp_path, "--ram", "4G")}
    assert set(found) == {"redis-server.service", "memcached.service"}
    assert "ExecStart runs redis-server" in json.dumps(found["redis-server.service"])
    assert "unit name memcached.service" in json.dumps(found["memcached.service"])
