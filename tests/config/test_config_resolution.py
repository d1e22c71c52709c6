"""Which config governs what, as ruff resolves it: ``check`` gives each file the closest
``.oomaudit.toml`` / ``[tool.oomaudit]`` above it, whatever the other targets are and in
whatever order they come; ``scan`` (and ``budget``) read the operator's ``/etc/oomaudit.toml``
(``OOMAUDIT_SYSTEM_CONFIG`` in tests) or ``--config``, never a config above the working
directory nor the audited tree's own."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from engine_stub import json_report, one_line_error, stub_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

NO_SYSTEM_CONFIG = {"OOMAUDIT_SYSTEM_CONFIG": "/nonexistent/oomaudit.toml"}
TARGETS = ["repo/top.stub", "repo/hosts", "repo/legacy/c.stub", "repo/hosts/db1/a.stub"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def make_repository(base: Path) -> Path:
    """A repository whose subtrees carry their own configs: web1 declares its own host and
    severities, legacy ignores STUB001 and asks for another fail-on."""
    repo = base / "repo"
    write(repo / ".oomaudit.toml",
          'fail-on = "medium"\n[severity]\nSTUB001 = "high"\n\n'
          '[[hosts]]\nname = "db1"\npaths = ["hosts/db1/**"]\nram = "8G"\n')
    write(repo / "hosts/db1/a.stub", "consumer db 6G\nwarn db1\n")
    write(repo / "hosts/web1/.oomaudit.toml",
          '[severity]\nSTUB001 = "low"\n\n[[hosts]]\nname = "web1"\npaths = ["**"]\nram = "2G"\n')
    write(repo / "hosts/web1/b.stub", "consumer web 3G\nwarn web1\n")
    write(repo / "legacy/.oomaudit.toml", 'fail-on = "critical"\nignore = ["STUB001"]\n')
    write(repo / "legacy/c.stub", "warn legacy\n")
    write(repo / "top.stub", "warn top\n")
    return repo


def cli(cwd: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, "NO_COLOR": "1", **stub_env(), **NO_SYSTEM_CONFIG, **(env or {})}
    return subprocess.run([sys.executable, "-m", "oomaudit", *map(str, args)], cwd=cwd,
                          env=full, capture_output=True, text=True, timeout=120)


def without_time(proc: subprocess.CompletedProcess) -> dict:
    report = json_report(proc)
    del report["generated_at"]
    return report


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("resolution")
    make_repository(base)
    return base


# -- check: each file's closest config ------------------------------------------------------

def test_each_file_is_judged_by_its_closest_config(base):
    report = without_time(cli(base, "check", "repo", "--format", "json"))
    found = {(f["host"], f["path"], f["rule"], f["severity"]) for f in report["findings"]}
    assert found == {
        ("db1", "repo/hosts/db1/a.stub", "STUB001", "high"),  # the repository's severity
        ("web1", "repo/hosts/web1/b.stub", "STUB001", "low"),  # web1's own
        ("web1", None, "HOST002", "high"),  # web1's own RAM: 3 GiB of services on 2 GiB
        ("default (.oomaudit.toml)", "repo/top.stub", "STUB001", "high"),
        # legacy/c.stub: STUB001 is ignored there
    }
    facts = {h["name"]: h["facts"]["ram"]["value"] for h in report["hosts"]
             if "ram" in h["facts"]}
    assert facts == {"db1": 8 << 30, "web1": 2 << 30}
    assert "repo/hosts/web1/.oomaudit.toml" in next(
        h["facts"]["ram"]["source"] for h in report["hosts"] if h["name"] == "web1")
    # legacy's own host ran no STUB001; the others did
    ran = {(r["host"], r["rule"]) for r in report["rules"]}
    assert ("default (legacy/.oomaudit.toml)", "STUB001") not in ran
    assert ("default (legacy/.oomaudit.toml)", "STUB002") in ran


def test_fail_on_is_the_runs_and_a_config_asking_otherwise_says_so(base):
    proc = cli(base, "check", "repo", "--format", "json")
    report = without_time(proc)
    assert report["fail_on"] == "medium" and proc.returncode == 1
    legacy = base / "repo/legacy/.oomaudit.toml"
    assert report["notices"] == [
        f"{legacy}: fail-on = 'critical' not applied: fail-on is one per run, from --fail-on "
        f"or the config closest to the targets' common folder "
        f"({base / 'repo/.oomaudit.toml'}: 'medium')"]
    # given alone, legacy's file is under legacy's config, fail-on and all
    alone = cli(base, "check", "repo/legacy/c.stub", "--format", "json")
    assert without_time(alone)["fail_on"] == "critical" and alone.returncode == 0
    assert without_time(alone)["findings"] == []
    # --fail-on overrides every config: nothing left to say
    forced = without_time(cli(base, "check", "repo", "--fail-on", "low", "--format", "json"))
    assert forced["fail_on"] == "low" and forced["notices"] == []


def test_a_nested_baseline_is_not_applied_and_says_so(tmp_path):
    """The baseline, like fail-on, is one per run: the repository's governs a run over it."""
    repo = make_repository(tmp_path)
    write(repo / "legacy/.oomaudit.toml", "")  # legacy's STUB001 is a finding now
    proc = cli(tmp_path, "check", "repo/legacy", "--write-baseline", "repo/legacy/known.json")
    assert proc.returncode == 0, proc.stderr
    write(repo / "legacy/.oomaudit.toml", 'baseline = "known.json"\n')
    alone = without_time(cli(tmp_path, "check", "repo/legacy", "--format", "json"))
    assert alone["findings"] == [] and alone["notices"] == []  # legacy's own run: applied
    report = without_time(cli(tmp_path, "check", "repo", "--format", "json"))
    assert [f["path"] for f in report["findings"] if f["rule"] == "STUB001"] == [
        "repo/hosts/db1/a.stub", "repo/hosts/web1/b.stub", "repo/legacy/c.stub", "repo/top.stub"]
    assert report["notices"] == [
        f"{repo / 'legacy/.oomaudit.toml'}: baseline = '{repo / 'legacy/known.json'}' not "
        f"applied: baseline is one per run, from --baseline or the config closest to the "
        f"targets' common folder ({repo / '.oomaudit.toml'}: none)"]


def test_config_option_governs_every_file(base):
    report = without_time(cli(base, "check", "repo", "--config", "repo/.oomaudit.toml",
                              "--format", "json"))
    found = {(f["host"], f["path"], f["severity"]) for f in report["findings"]
             if f["rule"] == "STUB001"}
    assert found == {("db1", "repo/hosts/db1/a.stub", "high"),
                     ("default", "repo/hosts/web1/b.stub", "high"),
                     ("default", "repo/legacy/c.stub", "high"),
                     ("default", "repo/top.stub", "high")}
    assert report["notices"] == []


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(order=st.permutations(TARGETS))
def test_the_order_of_the_targets_changes_nothing(base, order):
    """`check a b` and `check b a`: the same report, to the byte (but for the time), and the
    same text."""
    first = cli(base, "check", *TARGETS, "--format", "json")
    other = cli(base, "check", *order, "--format", "json")
    assert other.returncode == first.returncode == 1
    assert without_time(other) == without_time(first)
    assert cli(base, "check", *order).stdout == cli(base, "check", *TARGETS).stdout


def test_a_file_given_twice_or_inside_a_given_folder_is_audited_once(base):
    report = without_time(cli(base, "check", "repo/hosts", "repo/hosts/db1/a.stub",
                              "./repo/hosts/db1/a.stub", "--format", "json"))
    [db1] = [h for h in report["hosts"] if h["name"] == "db1"]
    assert [c["service"] for c in db1["ledger"]] == ["db"]  # not twice 6 GiB
    assert [f["path"] for f in report["findings"] if f["host"] == "db1"] == [
        "repo/hosts/db1/a.stub"]


def test_hosts_of_two_configs_are_named_from_the_repository_root(base, tmp_path):
    """The suffix is the config's path from the repository, not from this machine's /:
    host names are part of fingerprints."""
    for cwd, top in ((base, "repo/top.stub"), (base / "repo/legacy", "../top.stub")):
        report = without_time(cli(cwd, "check", top, "repo/legacy" if cwd == base else ".",
                                  "--format", "json"))
        assert sorted(h["name"] for h in report["hosts"]) == [
            "default (.oomaudit.toml)", "default (legacy/.oomaudit.toml)"]


def test_select_of_a_nested_config_that_matches_no_rule_names_its_line(tmp_path):
    make_repository(tmp_path)
    write(tmp_path / "repo/legacy/.oomaudit.toml", 'select = ["STUB", "NOPE"]\n')
    error = one_line_error(cli(tmp_path, "check", "repo"))
    assert f"{tmp_path / 'repo/legacy/.oomaudit.toml'}:1: NOPE matches no rule" in error


def test_a_broken_nested_config_is_an_error_only_for_its_files(tmp_path):
    make_repository(tmp_path)
    write(tmp_path / "repo/legacy/.oomaudit.toml", "ignore = [\n")
    error = one_line_error(cli(tmp_path, "check", "repo"))
    assert f"{tmp_path / 'repo/legacy/.oomaudit.toml'}" in error and "invalid TOML" in error
    assert cli(tmp_path, "check", "repo/top.stub").returncode == 1  # a finding, no error


def test_pyproject_table_governs_its_subtree(tmp_path):
    make_repository(tmp_path)
    write(tmp_path / "repo/legacy/pyproject.toml", '[project]\nname = "x"\n')  # not ours
    write(tmp_path / "repo/tools/pyproject.toml", '[tool.oomaudit]\nignore = ["STUB"]\n')
    write(tmp_path / "repo/tools/d.stub", "warn tools\n")
    report = without_time(cli(tmp_path, "check", "repo/tools", "repo/legacy",
                              "--format", "json"))
    assert report["findings"] == []  # legacy's .oomaudit.toml and tools' table both apply


# -- scan and budget: the operator's config, never the tree's or the working directory's ---

@pytest.fixture
def tree(tmp_path) -> Path:
    """A tree with no swap (SWAP001) whose own config would hide it."""
    write(tmp_path / "image/etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
    write(tmp_path / "image/.oomaudit.toml", 'ignore = ["SWAP"]\n')
    write(tmp_path / "image/etc/.oomaudit.toml", 'ignore = ["SWAP"]\n')
    write(tmp_path / ".oomaudit.toml", 'ignore = ["SWAP"]\n')  # above it, and the cwd's
    return tmp_path


def swap001(proc) -> list[str]:
    return [f["severity"] for f in json_report(proc)["findings"] if f["rule"] == "SWAP001"]


def test_scan_root_does_not_read_the_trees_config(tree):
    assert swap001(cli(tree, "scan", "--root", "image", "--format", "json")) == ["medium"]


def test_scan_root_reads_the_system_config_or_the_given_one(tree):
    system = write(tree / "etc-oomaudit.toml", '[severity]\nSWAP001 = "high"\n')
    env = {"OOMAUDIT_SYSTEM_CONFIG": str(system)}
    assert swap001(cli(tree, "scan", "--root", "image", "--format", "json", env=env)) == ["high"]
    given = write(tree / "ops.toml", '[severity]\nSWAP001 = "critical"\n')
    proc = cli(tree, "scan", "--root", "image", "--config", given, "--format", "json", env=env)
    assert swap001(proc) == ["critical"]


@pytest.mark.parametrize("command", [
    ["scan", "--root", "image"], ["scan", "--select", "SWAP001"], ["budget", "--root", "image"],
    ["budget"]], ids=["scan --root", "scan", "budget --root", "budget"])
def test_scan_and_budget_read_the_system_config(tree, command):
    """A broken system config is an error naming it: proof that it is the one read."""
    system = write(tree / "broken.toml", "fail-on = [\n")
    error = one_line_error(cli(tree, *command, env={"OOMAUDIT_SYSTEM_CONFIG": str(system)}))
    assert f"{system}" in error and "invalid TOML" in error


@pytest.mark.parametrize("command", [
    ["scan", "--select", "SWAP001", "--exit-zero"], ["budget", "--exit-zero"],
    ["scan", "--root", "image", "--exit-zero"]])
def test_a_config_above_the_working_directory_is_never_read_by_scan(tree, command):
    write(tree / "image/etc/.oomaudit.toml", "fail-on = [\n")  # the cwd below: broken
    write(tree / ".oomaudit.toml", "fail-on = [\n")
    cwd = tree / "image/etc"
    proc = cli(cwd, *[a if a != "image" else str(tree / "image") for a in command])
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_check_does_not_read_the_system_config(tree):
    system = write(tree / "broken.toml", "fail-on = [\n")
    write(tree / "repo/a.stub", "warn x\n")
    proc = cli(tree / "repo", "check", "a.stub", env={"OOMAUDIT_SYSTEM_CONFIG": str(system)})
    assert proc.returncode == 1 and proc.stderr == ""


def test_budget_of_a_repository_follows_check(tmp_path):
    make_repository(tmp_path)
    proc = cli(tmp_path, "budget", "repo/hosts", "--format", "json", "--exit-zero")
    text = proc.stdout
    assert proc.returncode == 0, proc.stderr
    assert "web1" in text and "repo/hosts/web1/.oomaudit.toml" in text  # web1's own RAM
    assert json.loads(text)  # one JSON document
