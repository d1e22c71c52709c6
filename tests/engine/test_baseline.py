"""Baselines through the real CLI: a baseline written on a repository with findings makes
the next run pass, a new finding fails it, a fixed one is a notice; the file is sorted,
valid against baseline.schema.json and the same wherever it is written from; a missing or
corrupt one is one line and exit 2; the config names it, and the pre-commit hook obeys.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import REPO, need_program
from engine_stub import json_report, one_line_error
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pre_commit_repo import BAD_FSTAB, git, try_repo
from test_fingerprint import FSTAB, MY_CNF, POOLS, UNIT, make_repo

from oomaudit.baseline import KIND, MAX_BYTES, load
from oomaudit.confine import LIVE, Tree
from oomaudit.errors import UsageError

BASELINE = ".oomaudit-baseline.json"


def baseline_schema() -> dict:
    return json.loads(resources.files("oomaudit").joinpath("baseline.schema.json")
                      .read_text(encoding="utf-8"))


def run_json(run, *args, cwd: Path) -> tuple[dict, subprocess.CompletedProcess]:
    proc = run(*args, "--ram", "8G", "--format", "json", cwd=cwd)
    return json_report(proc), proc


@pytest.fixture
def adopted(oomaudit, tmp_path) -> Path:
    """The sample repository of test_fingerprint, with its findings written to a baseline
    that its .oomaudit.toml names."""
    repo = make_repo(tmp_path / "repo")
    (repo / ".oomaudit.toml").write_text(f'baseline = "{BASELINE}"\n')
    report, proc = run_json(oomaudit, "check", ".", "--write-baseline", BASELINE, cwd=repo)
    assert proc.returncode == 0, proc.stderr
    return repo


# -- done when ----------------------------------------------------------------------------

def test_the_run_after_writing_a_baseline_exits_0(oomaudit, tmp_path):
    repo = make_repo(tmp_path / "repo")
    before, proc = run_json(oomaudit, "check", ".", cwd=repo)
    assert proc.returncode == 1 and len(before["findings"]) > 10
    written, proc = run_json(oomaudit, "check", ".", "--write-baseline", BASELINE, cwd=repo)
    assert proc.returncode == 0
    assert written["findings"] == [] and written["summary"]["baselined"] == len(before["findings"])
    assert f"{BASELINE}: baseline of {len(before['findings'])} findings written" in \
        written["notices"]
    after, proc = run_json(oomaudit, "check", ".", "--baseline", BASELINE, cwd=repo)
    assert proc.returncode == 0, proc.stdout
    assert after["findings"] == [] and after["summary"]["baselined"] == len(before["findings"])
    assert not any("baseline" in n for n in after["notices"])
    text = oomaudit("check", ".", "--ram", "8G", "--baseline", BASELINE, cwd=repo)
    assert text.returncode == 0
    assert f", {len(before['findings'])} hidden by baseline;" in text.stdout.splitlines()[-1]


def test_a_new_finding_fails_the_run(oomaudit, adopted):
    (adopted / "etc/systemd/system/mariadb.service").write_text(UNIT)
    report, proc = run_json(oomaudit, "check", ".", cwd=adopted)
    assert proc.returncode == 1
    [new] = report["findings"]
    assert (new["rule"], new["path"]) == ("SYSTEMD005", "etc/systemd/system/mariadb.service")
    assert report["summary"]["baselined"] > 10


def test_a_fixed_finding_is_a_notice(oomaudit, adopted):
    fixed = MY_CNF.replace("sort_buffer_size = 1.5M", "sort_buffer_size = 2M")
    (adopted / "etc/mysql/my.cnf").write_text(fixed)
    entry = next(e for e in json.loads((adopted / BASELINE).read_text())["findings"]
                 if e["rule"] == "MYSQL003")
    report, proc = run_json(oomaudit, "check", ".", cwd=adopted)
    assert proc.returncode == 0 and report["findings"] == []
    stale = [n for n in report["notices"] if "unused baseline entry" in n]
    assert stale == [f"{adopted / BASELINE}: unused baseline entry MYSQL003 etc/mysql/my.cnf "
                     f"({entry['fingerprint'][:12]}): no such finding any more; remove it, or "
                     "rewrite the file with --write-baseline"]


def test_an_unused_entry_is_escaped_for_the_terminal(oomaudit, tmp_path):
    """A file name is hostile: an escape sequence in it reaches the notice as text."""
    fstab = tmp_path / "hosts" / "\x1b[2Jdb1" / "etc" / "fstab"
    fstab.parent.mkdir(parents=True)
    fstab.write_text(FSTAB)
    proc = oomaudit("check", ".", "--write-baseline", "b.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    fstab.write_text(FSTAB + "/swapfile none swap sw 0 0\n")
    proc = oomaudit("check", ".", "--baseline", "b.json", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "\x1b" not in proc.stdout
    assert "unused baseline entry SWAP001 hosts/\\x1b[2Jdb1/etc/fstab" in proc.stdout


def test_moved_lines_and_new_values_stay_hidden(oomaudit, adopted):
    pools = "; moved\n\n" + POOLS.replace("pm.max_children = 50", "pm.max_children = 70")
    (adopted / "etc/php/8.2/fpm/pool.d/www.conf").write_text(pools)
    report, proc = run_json(oomaudit, "check", ".", cwd=adopted)
    assert proc.returncode == 0 and report["findings"] == [], report["findings"]
    assert not any("unused baseline entry" in n for n in report["notices"])


# -- the file ------------------------------------------------------------------------------

def test_the_file_is_sorted_valid_and_independent_of_the_working_directory(oomaudit, adopted,
                                                                           tmp_path):
    text = (adopted / BASELINE).read_text()
    document = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(baseline_schema())
    jsonschema.Draft202012Validator(baseline_schema()).validate(document)
    assert document["kind"] == KIND and document["schema_version"] == 1
    entries = document["findings"]
    assert entries == sorted(entries, key=lambda e: (e["path"], e["rule"], e["host"],
                                                     e["fingerprint"]))
    assert {e["path"] for e in entries} >= {"etc/fstab", "docker-compose.yml", ""}
    again = oomaudit("check", "repo", "--ram", "8G", "--write-baseline", "again.json",
                     cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "again.json").read_text() == text  # byte for byte: a stable diff
    assert not list(adopted.glob(f".{BASELINE}*tmp"))  # written through a renamed temp file


def test_a_partial_run_calls_nothing_outside_it_stale(oomaudit, adopted):
    """Pre-commit passes only the staged files, --select only some rules: entries for what
    the run did not look at are not 'no such finding any more'."""
    for args in (["etc/fstab"], ["--select", "SWAP", "."], ["etc/mysql", "docker-compose.yml"]):
        report, proc = run_json(oomaudit, "check", *args, cwd=adopted)
        assert proc.returncode == 0 and report["findings"] == [], args
        assert not any("baseline" in n for n in report["notices"]), (args, report["notices"])


def test_a_tree_scan_takes_a_baseline(oomaudit, tmp_path):
    tree = make_repo(tmp_path / "image" / "db1")
    _, proc = run_json(oomaudit, "scan", "--root", str(tree), "--write-baseline", "b.json",
                       cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    paths = {e["path"] for e in json.loads((tmp_path / "b.json").read_text())["findings"]}
    assert "etc/fstab" in paths and not any(p.startswith(("/", "image")) for p in paths)
    report, proc = run_json(oomaudit, "scan", "--root", "db1", "--baseline", "../b.json",
                            cwd=tmp_path / "image")
    assert proc.returncode == 0 and report["summary"]["baselined"] == len(
        json.loads((tmp_path / "b.json").read_text())["findings"])


# -- the config ----------------------------------------------------------------------------

def test_the_config_names_the_baseline_relative_to_itself(oomaudit, adopted):
    report, proc = run_json(oomaudit, "check", "repo", cwd=adopted.parent)
    assert proc.returncode == 0 and report["summary"]["baselined"] > 10
    report, proc = run_json(oomaudit, "check", "..", cwd=adopted / "etc")
    assert proc.returncode == 0 and report["summary"]["baselined"] > 10


def test_the_command_line_baseline_wins_over_the_config(oomaudit, adopted):
    (adopted / "empty.json").write_text(json.dumps(
        {"schema_version": 1, "kind": KIND, "tool": {"name": "oomaudit", "version": "0"},
         "findings": []}))
    report, proc = run_json(oomaudit, "check", ".", "--baseline", "empty.json", cwd=adopted)
    assert proc.returncode == 1 and report["summary"]["baselined"] == 0


def test_a_missing_baseline_named_by_the_config_is_an_error(oomaudit, adopted):
    (adopted / BASELINE).unlink()
    error = one_line_error(oomaudit("check", ".", cwd=adopted))
    assert error == (f"oomaudit: error: {adopted / '.oomaudit.toml'}:1: baseline "
                     f"{adopted / BASELINE}: no such file (write one with --write-baseline "
                     "FILE)")


@pytest.mark.parametrize("config, message", [
    ("baseline = 5\n", ".oomaudit.toml:1: 'baseline' must be a file name"),
    ('fail-on = "low"\nbaseline = ""\n', ".oomaudit.toml:2: 'baseline' must be a file name"),
])
def test_a_bad_baseline_key_names_its_line(oomaudit, tmp_path, config, message):
    repo = make_repo(tmp_path)
    (repo / ".oomaudit.toml").write_text(config)
    assert message in one_line_error(oomaudit("check", ".", cwd=repo))


@pytest.mark.parametrize("content, message", [
    (b"", "not an oomaudit baseline: invalid JSON"),
    (b"\xff\xfe garbage", "not an oomaudit baseline: invalid JSON"),
    (b"[" * 100_000, "not an oomaudit baseline: invalid JSON"),
    (b'{"findings": []}', 'not an oomaudit baseline: no "kind": "oomaudit baseline"'),
    (json.dumps({"schema_version": 9, "kind": KIND, "findings": []}).encode(),
     "schema_version 9 is newer than this oomaudit reads (1): upgrade oomaudit"),
    (json.dumps({"schema_version": 1, "kind": KIND, "findings": [{"fingerprint": 1}]}).encode(),
     "findings[0] has no fingerprint, rule, host and path as strings"),
])
def test_a_corrupt_baseline_is_one_line(oomaudit, tmp_path, content, message):
    repo = make_repo(tmp_path)
    (repo / "b.json").write_bytes(content)
    error = one_line_error(oomaudit("check", ".", "--baseline", "b.json", cwd=repo))
    assert error.startswith("oomaudit: error: --baseline b.json: ") and message in error, error


@pytest.mark.parametrize("given", [True, False], ids=["--baseline", "config"])
def test_a_fifo_baseline_is_one_line_not_a_hang(oomaudit, tmp_path, given):
    """A FIFO where the baseline is expected (a hostile repository's, or a mistake): the run
    must end at once with one line, not wait for a writer for ever."""
    repo = make_repo(tmp_path)
    os.mkfifo(repo / "b.json")
    if not given:
        (repo / ".oomaudit.toml").write_text('baseline = "b.json"\n')
    proc = oomaudit("check", ".", *(["--baseline", "b.json"] if given else []), cwd=repo)
    assert "not a regular file" in one_line_error(proc)


def test_a_repository_baseline_linked_out_of_it_is_not_read(oomaudit, tmp_path):
    """The config's baseline is the repository's file: a link out of it is refused as any
    audited file's is (the --baseline of the command line is the operator's own)."""
    repo = make_repo(tmp_path / "repo")
    (repo / ".git").mkdir(exist_ok=True)
    outside = tmp_path / "elsewhere.json"
    outside.write_text(json.dumps({"schema_version": 1, "kind": KIND, "findings": []}))
    (repo / "b.json").symlink_to(outside)
    (repo / ".oomaudit.toml").write_text('baseline = "b.json"\n')
    assert "outside the repository" in one_line_error(oomaudit("check", ".", cwd=repo))
    proc = oomaudit("check", ".", "--baseline", "b.json", "--format", "json", cwd=repo)
    assert json_report(proc)["summary"]["baselined"] == 0  # read: the operator named it


def test_an_unwritable_baseline_is_one_line(oomaudit, tmp_path):
    repo = make_repo(tmp_path)
    error = one_line_error(oomaudit("check", ".", "--write-baseline", "no/such/dir/b.json",
                                    cwd=repo))
    assert error.startswith("oomaudit: error: --write-baseline no/such/dir/b.json: "), error


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
ENTRY = st.fixed_dictionaries(
    {k: st.text(max_size=40) | JSON for k in ("fingerprint", "rule", "host", "path")},
    optional={"message": JSON})
DOCUMENT = st.fixed_dictionaries(
    {"kind": st.just(KIND) | JSON, "schema_version": st.integers(-2, 3) | JSON},
    optional={"findings": st.lists(ENTRY | JSON, max_size=5) | JSON, "tool": JSON})


@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=DOCUMENT | JSON)
def test_any_json_is_a_baseline_or_one_usage_error(tmp_path, document):
    path = tmp_path / "b.json"
    path.write_text(json.dumps(document))
    try:
        entries = load(path, "--baseline b.json", Tree(Path("/"), LIVE, MAX_BYTES))
    except UsageError as exc:
        assert str(exc).startswith("--baseline b.json: ") and "\n" not in str(exc)
        return
    assert isinstance(document, dict) and document["kind"] == KIND
    assert all(isinstance(e[k], str) for e in entries for k in ("fingerprint", "rule", "host",
                                                                  "path"))


# -- pre-commit ----------------------------------------------------------------------------

@pytest.mark.slow
def test_the_repository_hook_obeys_the_configured_baseline(hook_repo, tmp_path):
    """The real pre-commit, as tests/integrations/test_pre_commit.py runs it: the repository
    hook passes on a repository whose findings are in the baseline its .oomaudit.toml names,
    and fails once a commit adds a finding."""
    project = tmp_path / "configs"
    (project / "hosts" / "db1" / "etc").mkdir(parents=True)
    git("init", "-q", cwd=project)
    (project / "hosts" / "db1" / "etc" / "fstab").write_text(BAD_FSTAB)
    (project / ".oomaudit.toml").write_text(f'baseline = "{BASELINE}"\n')
    proc = subprocess.run([sys.executable, "-m", "oomaudit", "check", ".", "--write-baseline",
                           BASELINE], cwd=project, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    git("add", "-A", cwd=project)
    passed = try_repo(hook_repo, project, "oomaudit-repo", "--all-files", "--verbose")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "1 hidden by baseline" in passed.stdout, passed.stdout
    (project / "hosts" / "web1" / "etc").mkdir(parents=True)
    (project / "hosts" / "web1" / "etc" / "fstab").write_text(BAD_FSTAB)
    git("add", "-A", cwd=project)
    failed = try_repo(hook_repo, project, "oomaudit-repo", "--all-files", "--verbose")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "hosts/web1/etc/fstab: SWAP001" in failed.stdout
    assert "hosts/db1/etc/fstab: SWAP001" not in failed.stdout


# -- the README ----------------------------------------------------------------------------

def test_the_readme_recipe_works_as_written(oomaudit, tmp_path):
    """The README's Baseline commands, run by a shell in a git repository with findings;
    then its config line, and a new finding fails."""
    need_program("git", "the README's recipe commits the file")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    section = readme.split("\n### Baseline\n", 1)[1].split("\n## ", 1)[0]
    script = re.search(r"^```sh\n(.*?)^```$", section, re.M | re.S).group(1)
    line = re.search(r"`(baseline = \"[^`]+\")`", section.replace("\n", " ")).group(1)
    repo = make_repo(tmp_path / "repo")
    hosts = '[[hosts]]\nname = "db1"\npaths = ["**"]\nram = "8G"\n'
    (repo / ".oomaudit.toml").write_text(hosts)
    git("init", "-q", cwd=repo)
    env_path = f"{Path(sys.executable).parent}:{os.environ['PATH']}"
    proc = subprocess.run(["bash", "-euc", script], cwd=repo, capture_output=True, text=True,
                          env={**os.environ, "PATH": env_path, "NO_COLOR": "1"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert shutil.which("oomaudit", path=env_path)
    (repo / ".oomaudit.toml").write_text(f"{line}\n\n{hosts}")  # at the top, as it says
    assert oomaudit("check", ".", cwd=repo).returncode == 0
    (repo / "etc/systemd/system/mariadb.service").write_text(UNIT)
    proc = oomaudit("check", ".", cwd=repo)
    assert proc.returncode == 1 and "SYSTEMD005" in proc.stdout
