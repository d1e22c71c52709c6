"""docs/ci.md: its GitHub workflows and GitLab jobs are valid for the CI systems that run
them (SchemaStore's schemas, as check-jsonschema vendors them), and every oomaudit command
they show runs on a sample repository with the variables CI would set, writing what the
next step or the CI system reads: SARIF that validates, annotations, a Code Quality
report, JUnit, and the diff's markdown."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import yaml
from conftest import REPO, need_shared
from git_repo import Repo

DOC = REPO / "docs" / "ci.md"
PROFILE = '[[hosts]]\npaths = ["hosts/db1/**"]\nram = "8GiB"\nswap = "2GiB"\n'
MY_CNF = "hosts/db1/etc/mysql/my.cnf"


def blocks() -> list[str]:
    text = DOC.read_text(encoding="utf-8")
    return re.findall(r"^```yaml\n(.*?)^```$", text, re.M | re.S)


def github_workflows() -> list[dict]:
    return [d for d in map(yaml.safe_load, blocks()) if "jobs" in d]


def gitlab_jobs() -> dict[str, dict]:
    return {name: job for d in map(yaml.safe_load, blocks()) if "jobs" not in d
            for name, job in d.items()}


# What the GitHub expressions the steps use stand for in the sample pull request; an
# expression this table does not know fails the test, so the doc cannot outgrow it.
GITHUB = {"github.base_ref": "main", "github.token": "unused",
          "github.event.pull_request.number": "1"}
_EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


def commands() -> list[tuple[str, str, dict[str, str]]]:
    """(where, command, environment) of every line of a step or script that runs oomaudit."""
    found = []
    for workflow in github_workflows():
        for job_name, job in workflow["jobs"].items():
            for step in job["steps"]:
                env = {k: _EXPRESSION.sub(lambda m: GITHUB[m.group(1)], str(v))
                       for k, v in step.get("env", {}).items()}
                found += [(f"{job_name}: {step.get('name', line)}", line, env)
                          for line in step.get("run", "").splitlines()
                          if line.startswith("oomaudit ")]
    for job_name, job in gitlab_jobs().items():
        found += [(job_name, line, {}) for line in job["script"] if line.startswith("oomaudit ")]
    return found


# -- the snippets are what GitHub and GitLab accept -----------------------------------------

def schema_check(kind: str, texts: list[str], tmp_path: Path) -> None:
    """The YAML as written (a re-dump would turn the key ``on`` into ``true``)."""
    program = shutil.which("check-jsonschema", path=os.path.dirname(sys.executable)) or \
        shutil.which("check-jsonschema")
    assert program, "check-jsonschema is in the test extra"
    files = []
    for n, text in enumerate(texts):
        files.append(tmp_path / f"{kind}{n}.yml")
        files[-1].write_text(text)
    proc = subprocess.run([program, "--builtin-schema", f"vendor.{kind}", *map(str, files)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_github_workflows_are_valid(tmp_path):
    workflows = github_workflows()
    assert len(workflows) == 2
    schema_check("github-workflows", [b for b in blocks() if "\njobs:" in b], tmp_path)
    uses = [s.get("uses", "") for w in workflows for j in w["jobs"].values() for s in j["steps"]]
    assert "github/codeql-action/upload-sarif@v3" in uses


def test_gitlab_jobs_are_valid(tmp_path):
    jobs = gitlab_jobs()
    assert set(jobs) == {"oomaudit", "oomaudit-diff"}
    schema_check("gitlab-ci", ["".join(b for b in blocks() if "\njobs:" not in b)], tmp_path)
    reports = jobs["oomaudit"]["artifacts"]["reports"]
    assert reports == {"codequality": "gl-code-quality-report.json",
                       "junit": "oomaudit-junit.xml"}


def test_no_expression_is_spliced_into_a_script():
    """${{ }} inside run: is script injection waiting for a hostile branch name."""
    for workflow in github_workflows():
        for job in workflow["jobs"].values():
            for step in job["steps"]:
                assert "${{" not in step.get("run", ""), step


# -- every command, run --------------------------------------------------------------------

@pytest.fixture
def sample(tmp_path) -> Repo:
    """A clone whose origin/main has an 8 GiB database host with a 4G buffer pool, checked
    out on a branch that raises it to 7G: one finding added, MYSQL001."""
    upstream = Repo(tmp_path / "upstream")
    upstream.write(".oomaudit.toml", PROFILE)
    upstream.write(MY_CNF, "[mysqld]\ninnodb_buffer_pool_size = 4G\nmax_connections = 100\n")
    upstream.commit("db1")
    upstream.git("clone", "-q", str(upstream.path), str(tmp_path / "work"))
    work = Repo(tmp_path / "work", init=False)
    work.git("checkout", "-q", "-b", "bigger-pool")
    work.write(MY_CNF, "[mysqld]\ninnodb_buffer_pool_size = 7G\nmax_connections = 100\n")
    work.commit("raise the pool")
    return work


def run(command: str, env: dict[str, str], repo: Repo) -> subprocess.CompletedProcess:
    """As the CI runner's shell would: bash, in the checkout, oomaudit on PATH."""
    bin_dir = os.path.dirname(sys.executable)
    full = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", ""),
            "NO_COLOR": "1", "CI": "true", **env}
    return subprocess.run(["bash", "-c", command], cwd=repo.path, env=full,
                          capture_output=True, text=True, timeout=300)


def test_every_command_runs_on_a_sample_repository(sample):
    found = commands()
    assert len(found) == 4, found
    base = sample.git("merge-base", "HEAD", "origin/main").strip()
    gitlab = {"CI_PIPELINE_SOURCE": "merge_request_event",
              "CI_MERGE_REQUEST_DIFF_BASE_SHA": base}
    outputs = {}
    for where, command, env in found:
        proc = run(command, {**gitlab, **env}, sample)
        assert "Traceback" not in proc.stdout + proc.stderr, (where, proc.stderr)
        # the change adds MYSQL001: each command fails its job, as the doc says it will
        assert proc.returncode == 1, (where, command, proc.stdout, proc.stderr)
        outputs[where] = proc.stdout
    files = sample.path

    sarif = json.loads((files / "oomaudit.sarif").read_text())
    jsonschema.Draft4Validator(json.loads(need_shared(
        "schemas", "sarif-schema-2.1.0.json").read_text())).validate(sarif)
    assert [r["ruleId"] for r in sarif["runs"][0]["results"]] == ["MYSQL001"]
    annotations = outputs["audit: Audit"]
    assert re.search(rf"^::error file={MY_CNF},line=2,.*MYSQL001", annotations, re.M), \
        annotations

    markdown = (files / "oomaudit-diff.md").read_text()
    assert markdown.startswith("### oomaudit: 1 finding added, 0 fixed")
    assert "| `mysql` | 4.6 GiB | 7.6 GiB | +3.0 GiB |" in markdown

    quality = json.loads((files / "gl-code-quality-report.json").read_text())
    assert [q["check_name"] for q in quality] == ["MYSQL001"]
    from junitparser import JUnitXml
    suites = JUnitXml.fromfile(str(files / "oomaudit-junit.xml"))
    assert sum(s.failures for s in suites) == 1
    assert "MYSQL001 high" in outputs["oomaudit"]  # the text report in the job log

    assert "hosts/db1: worst case 4.6 GiB -> 7.6 GiB of 8.0 GiB RAM" in outputs["oomaudit-diff"]
