"""JVM001-JVM003 fired and not fired on trees of unit files (scan --root), the JVM's order of
option variables, the ledger's java entry, Debian's shipped tomcat10 on a 4 GiB profile,
../shared/realworld's units, and hypothesis: any unit or EnvironmentFile text gives
findings, never a traceback."""
from __future__ import annotations

import io
import json
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest
from conftest import need_shared
from debian_packages import unpacked
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit import main

FIXTURES = Path(__file__).parent / "fixtures"
UNITS = "etc/systemd/system"


def tree(root: Path, **units: str) -> Path:
    """A --root tree with the fixture unit files named (``app="heap-twice.service"``)."""
    (root / UNITS).mkdir(parents=True, exist_ok=True)
    for name, fixture in units.items():
        shutil.copy(FIXTURES / fixture, root / UNITS / f"{name}.service")
    return root


def scan(root: Path, *args: str) -> dict:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["scan", "--root", str(root), "--format", "json", "--no-plugins", *args])
    report = json.loads(out.getvalue())
    assert code in (0, 1) and report["errors"] == [], (err.getvalue(), report["errors"])
    return report


def jvm_findings(report: dict) -> list[tuple[str, str]]:
    return sorted((f["rule"], Path(f["path"]).name) for f in report["findings"]
                  if f["rule"].startswith("JVM"))


def java_ledger(report: dict) -> list[dict]:
    return [c for h in report["hosts"] for c in h["ledger"] if c["service"] == "java"]


def test_jvm002_heap_and_overhead_above_memorymax(tmp_path):
    report = scan(tree(tmp_path, app="heap-above-limit.service"), "--ram", "16G")
    assert jvm_findings(report) == [("JVM002", "app.service")]
    [finding] = [f for f in report["findings"] if f["rule"] == "JVM002"]
    assert "2.0 GiB + overhead 512.0 MiB = 2.5 GiB" in finding["message"]
    assert "memory limit 2.0 GiB" in finding["message"]
    # the -Xmx64g after the main class is the application's, not the JVM's
    assert any(e["source"].endswith("app.service:4") and "-Xmx2g" in e["what"]
               for e in finding["evidence"])
    assert "-Xmx1638m" in finding["fix"] and "MemoryMax=2560M" in finding["fix"]
    # the ledger holds what the kernel lets the unit reach: its limit
    [java] = java_ledger(report)
    assert java["bytes"] == 2 << 30 and "MemoryMax=2G" in java["how"]


def test_no_jvm002_when_the_limit_holds_heap_and_overhead(tmp_path):
    report = scan(tree(tmp_path, app="heap-within-limit.service"), "--ram", "16G")
    assert jvm_findings(report) == []
    [java] = java_ledger(report)
    assert java["bytes"] == (2 << 30) + (512 << 20)
    assert "overhead 512.0 MiB (metaspace, code cache" in java["how"]


def test_jvm001_heap_above_what_the_others_leave(tmp_path):
    root = tree(tmp_path, app="heap-within-limit.service")
    assert jvm_findings(scan(root, "--ram", "4G")) == []  # 2.5 GiB of 4
    report = scan(root, "--ram", "2G")
    assert jvm_findings(report) == [("JVM001", "app.service")]
    [finding] = [f for f in report["findings"] if f["rule"].startswith("JVM")]
    assert "may reach 2.5 GiB" in finding["message"] and "2.0 GiB of RAM" in finding["message"]
    assert "-Xmx1638m" in finding["fix"]  # the smaller of 80% of 2 GiB and 2 GiB - 256 MiB
    # two JVMs share the RAM: each sees what the other claims
    tree(tmp_path, other="heap-within-limit.service")
    assert jvm_findings(scan(root, "--ram", "4G")) == [("JVM001", "app.service"),
                                                       ("JVM001", "other.service")]


def test_jvm001_is_skipped_without_ram(tmp_path):
    report = scan(tree(tmp_path, app="heap-within-limit.service"), "--select", "JVM001")
    assert jvm_findings(report) == []
    assert [(r["rule"], r["status"]) for r in report["rules"]] == [("JVM001", "skipped")]


def test_jvm003_two_heaps_the_command_line_wins_over_java_tool_options(tmp_path):
    report = scan(tree(tmp_path, app="heap-twice.service"), "--ram", "8G")
    assert jvm_findings(report) == [("JVM003", "app.service")]
    [finding] = [f for f in report["findings"] if f["rule"].startswith("JVM")]
    assert finding["severity"] == "low" and "the last, -Xmx1g, wins" in finding["message"]
    assert [e["what"] for e in finding["evidence"]] == ["-Xmx4g (overridden)",
                                                       "-Xmx1g (in effect)"]
    assert java_ledger(report)[0]["bytes"] == (1 << 30) + (256 << 20)


def test_a_wrapper_reads_environmentfile_and_java_options_wins(tmp_path):
    root = tree(tmp_path, wrapper="wrapper.service")
    (root / "etc/default").mkdir()
    shutil.copy(FIXTURES / "wrapper.default", root / "etc/default/wrapper")
    report = scan(root, "--ram", "4G")
    # JAVA_OPTS' -Xmx6g (above the RAM) is overridden by _JAVA_OPTIONS=-Xmx512m
    assert jvm_findings(report) == [("JVM003", "wrapper.service")]
    [java] = java_ledger(report)
    assert java["bytes"] == 768 << 20 and java["source"].endswith("wrapper.service:4")
    [finding] = [f for f in report["findings"] if f["rule"].startswith("JVM")]
    evidence = finding["evidence"]
    assert evidence[0]["source"].endswith("etc/default/wrapper:2")
    # without the file (EnvironmentFile=-... is optional) only _JAVA_OPTIONS is left
    (root / "etc/default/wrapper").unlink()
    assert jvm_findings(scan(root, "--ram", "4G")) == []


def test_the_default_heap_is_a_share_of_the_unit_limit(tmp_path):
    (tmp_path / UNITS).mkdir(parents=True)
    (tmp_path / UNITS / "app.service").write_text(
        "[Service]\nMemoryMax=1G\nExecStart=/usr/bin/java -jar /opt/app.jar\n")
    [java] = java_ledger(scan(tmp_path, "--ram", "64G"))
    assert java["bytes"] == 512 << 20  # 256 MiB heap + 256 MiB overhead
    assert "25% (MaxRAMPercentage default) of memory limit 1.0 GiB" in java["how"]
    # a heap the JVM sizes from a small limit itself is not judged against it
    (tmp_path / UNITS / "app.service").write_text(
        "[Service]\nMemoryMax=256M\nExecStart=/usr/bin/java -jar /opt/app.jar\n")
    report = scan(tmp_path, "--ram", "64G")
    assert jvm_findings(report) == [] and java_ledger(report)[0]["bytes"] == 256 << 20
    (tmp_path / UNITS / "app.service").write_text(
        "[Service]\nMemoryMax=1G\nExecStart=/usr/bin/java -XX:-UseContainerSupport "
        "-jar /opt/app.jar\n")
    report = scan(tmp_path, "--ram", "64G")
    assert jvm_findings(report) == [("JVM002", "app.service")]  # 16 GiB heap in 1 GiB


def test_a_unit_without_java_is_no_jvm(tmp_path):
    (tmp_path / UNITS).mkdir(parents=True)
    (tmp_path / UNITS / "web.service").write_text(
        "[Service]\nExecStart=/usr/sbin/nginx -g 'daemon off;' -Xmx99g\n")
    assert java_ledger(scan(tmp_path, "--ram", "1G")) == []


@pytest.fixture(scope="module")
def tomcat() -> Path:
    """Debian's tomcat10 (its unit hands JAVA_OPTS to a start script), unpacked once."""
    return unpacked("tomcat10", "lib/systemd/system/tomcat10.service")


def test_debian_tomcat10_on_4g_nothing_above_low(tomcat):
    report = scan(tomcat, "--ram", "4G")
    assert not [f for f in report["findings"] if f["severity"] not in ("info", "low")
                or f["rule"].startswith(("CONF", "JVM"))]
    [java] = java_ledger(report)
    assert java["bytes"] == (1 << 30) + (256 << 20)  # a quarter of 4 GiB + 256 MiB
    assert "tomcat10.service" in java["how"]


def test_realworld_units_give_no_jvm_finding_and_no_error(tmp_path):
    shared = need_shared("realworld", "systemd")
    (tmp_path / UNITS).mkdir(parents=True)
    for path in shared.glob("*.service"):
        shutil.copy(path, tmp_path / UNITS / path.name.rsplit("__", 1)[-1])
    assert jvm_findings(scan(tmp_path, "--ram", "4G")) == []


_TEXT = st.text(alphabet=st.sampled_from(list("$-={}\"' \\\n;#xXmsg0123java/:+_.AOPTSJ")),
                max_size=120)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(exec_line=_TEXT, env_line=_TEXT, env_file=_TEXT, ram=st.sampled_from(["", "1G"]))
def test_any_unit_text_gives_findings_never_a_traceback(tmp_path, exec_line, env_line,
                                                        env_file, ram):
    (tmp_path / UNITS).mkdir(parents=True, exist_ok=True)
    (tmp_path / "etc/default").mkdir(parents=True, exist_ok=True)
    (tmp_path / UNITS / "app.service").write_text(
        f"[Service]\nMemoryMax=1G\nEnvironmentFile=-/etc/default/app\n"
        f"Environment={env_line}\nExecStart=/usr/bin/java {exec_line}\n", "utf-8",
        "surrogatepass")
    (tmp_path / "etc/default/app").write_text(env_file)
    report = scan(tmp_path, *(["--ram", ram] if ram else []))
    assert {f["rule"][:3] for f in report["findings"]} <= {"CON", "JVM", "SYS", "HOS"}


@pytest.mark.parametrize("heap, fires", [("4g", True), ("3500m", True), ("2g", False)])
def test_container003_counts_the_jvm_overhead_beside_the_heap(tmp_path, heap, fires):
    """A compose JVM is the containers plugin's: CONTAINER003 with heap + overhead (the
    JVM plugin's reading, _JAVA_OPTIONS last), no JVM finding of its own."""
    compose = tmp_path / "docker-compose.yml"
    compose.write_text(
        "services:\n  app:\n    image: eclipse-temurin:17\n    mem_limit: 4g\n"
        "    environment:\n      JAVA_TOOL_OPTIONS: -Xmx8g\n"
        f"      _JAVA_OPTIONS: -Xmx{heap}\n    command: java -jar /app.jar\n")
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        main(["check", str(compose), "--format", "json", "--no-plugins"])
    found = [f for f in json.loads(out.getvalue())["findings"]
             if f["rule"] in ("CONTAINER003", "JVM001", "JVM002", "JVM003")]
    assert [(f["rule"], f["line"]) for f in found] == ([("CONTAINER003", 7)] if fires else [])
    if fires:
        assert f"-Xmx{heap} + overhead" in found[0]["evidence"][0]["what"]
        assert "-Xmx3276m" in found[0]["fix"]  # 4 GiB / 1.25


def test_budget_shows_mysql_redis_and_the_jvm_with_their_arithmetic(oomaudit, tmp_path):
    """Issue 17's done-when: MySQL, Redis (maxmemory 2gb, RDB on) and a JVM in one budget,
    each with how its number was computed."""
    root = tree(tmp_path / "host", app="heap-within-limit.service")
    (root / "etc/redis").mkdir(parents=True)
    (root / "etc/mysql").mkdir(parents=True)
    (root / "etc/redis/redis.conf").write_text("maxmemory 2gb\nsave 900 1\n")
    (root / "etc/mysql/my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 4G\n")
    proc = oomaudit("budget", "--root", root, "--ram", "16G", "--format", "json")
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    consumers = {c["service"]: c for c in json.loads(proc.stdout)["hosts"][0]["consumers"]}
    assert set(consumers) == {"mysql", "redis", "java"}
    java = consumers["java"]
    assert java["bytes"] == (2 << 30) + (512 << 20)
    assert java["how"].startswith("app.service: heap 2.0 GiB (-Xmx2g) + overhead 512.0 MiB")
    assert java["source"].endswith("etc/systemd/system/app.service:4")
    assert "maxmemory 2.0 GiB" in consumers["redis"]["how"]
    assert "server buffers + 151 connections x" in consumers["mysql"]["how"]
    text = oomaudit("budget", "--root", root, "--ram", "16G").stdout
    assert re.search(r"^  java +2\.5 GiB .*app\.service: heap 2\.0 GiB", text, re.M), text


def test_a_config_repository_says_which_environmentfile_it_could_not_read(tmp_path):
    shutil.copy(FIXTURES / "wrapper.service", tmp_path / "wrapper.service")
    out = io.StringIO()
    with redirect_stdout(out), redirect_stderr(io.StringIO()):
        main(["check", str(tmp_path / "wrapper.service"), "--format", "json", "--no-plugins",
              "--ram", "4G"])
    [java] = java_ledger(json.loads(out.getvalue()))
    assert java["bytes"] == 768 << 20  # _JAVA_OPTIONS' -Xmx512m, from the unit itself
    assert java["how"].endswith("; not read: EnvironmentFile=/etc/default/wrapper")
