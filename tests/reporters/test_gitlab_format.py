"""--format gitlab: a GitLab Code Quality report, validated against a schema written from
GitLab's documentation ("Code Quality report format": a single JSON array of objects with at
least description, check_name, fingerprint, severity in info/minor/major/critical/blocker,
location.path relative to the repository, and location.lines.begin or
location.positions.begin.line; no byte order mark)."""
from __future__ import annotations

import json

import jsonschema
import pytest

CODE_QUALITY = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "array",
    "items": {
        "type": "object",
        "required": ["description", "check_name", "fingerprint", "severity", "location"],
        "properties": {
            "description": {"type": "string", "minLength": 1},
            "check_name": {"type": "string", "minLength": 1},
            "fingerprint": {"type": "string", "minLength": 1},
            "severity": {"enum": ["info", "minor", "major", "critical", "blocker"]},
            "location": {
                "type": "object",
                "required": ["path"],
                "properties": {
                    # "expressed as a relative path in the repository"
                    "path": {"type": "string", "minLength": 1, "not": {"pattern": "^(/|\\./)"}},
                    "lines": {"type": "object", "required": ["begin"],
                              "properties": {"begin": {"type": "integer", "minimum": 1}}},
                    "positions": {"type": "object", "required": ["begin"], "properties": {
                        "begin": {"type": "object", "required": ["line"],
                                  "properties": {"line": {"type": "integer", "minimum": 1}}}}},
                },
                "anyOf": [{"required": ["lines"]}, {"required": ["positions"]}],
            },
        },
    },
}


@pytest.fixture
def repo(tmp_path):
    (tmp_path / ".git").mkdir()
    (tmp_path / ".oomaudit.toml").write_text('[[hosts]]\npaths = ["db1/**"]\nram = "8GiB"\n')
    (tmp_path / "db1").mkdir()
    (tmp_path / "db1" / "my.cnf").write_text(
        "[mysqld]\ninnodb_buffer_pool_size = 7G\nmax_connections = 500\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: a\n  worker:\n    image: b\n")
    return tmp_path


def code_quality(oomaudit, cwd) -> tuple[list[dict], dict]:
    """One run as GitLab's report (a file) and JSON (stdout)."""
    proc = oomaudit("check", ".", "--format", "gitlab", "-o", "gl-code-quality-report.json",
                    "--format", "json", "-o", "-", cwd=cwd)
    assert proc.returncode == 1, proc.stderr
    data = (cwd / "gl-code-quality-report.json").read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")  # GitLab's parser refuses a BOM
    entries = json.loads(data.decode("utf-8"))  # strict UTF-8
    jsonschema.Draft202012Validator(CODE_QUALITY).validate(entries)
    return entries, json.loads(proc.stdout)


def test_one_entry_per_finding_with_its_fingerprint(oomaudit, repo):
    entries, report = code_quality(oomaudit, repo)
    assert len(entries) == len(report["findings"]) >= 4
    severity = {"critical": "blocker", "high": "critical", "medium": "major", "low": "minor",
                "info": "info"}
    for entry, finding in zip(entries, report["findings"], strict=True):
        assert entry["check_name"] == finding["rule"]
        assert entry["fingerprint"] == finding["fingerprint"]
        assert entry["severity"] == severity[finding["severity"]]
        assert finding["message"] in entry["description"]
    assert len({e["fingerprint"] for e in entries}) == len(entries)  # GitLab keeps one of each
    services = [e for e in entries if e["check_name"] == "CONTAINER001"]
    assert [(e["location"]["path"], e["location"]["lines"]["begin"]) for e in services] == [
        ("compose.yaml", 2), ("compose.yaml", 4)]


def test_a_host_finding_points_at_its_hosts_table(oomaudit, repo):
    entries, _ = code_quality(oomaudit, repo)
    (host002,) = [e for e in entries if e["check_name"] == "HOST002"]
    assert host002["location"] == {"path": ".oomaudit.toml", "lines": {"begin": 1}}


def test_fingerprints_survive_a_moved_line_and_a_changed_value(oomaudit, repo):
    """The MR widget compares the base's report with the head's by fingerprint: a comment
    added above and another buffer pool size is the same entry, on another line."""
    before, _ = code_quality(oomaudit, repo)
    (repo / "db1" / "my.cnf").write_text(
        "# tuned\n[mysqld]\ninnodb_buffer_pool_size = 7500M\nmax_connections = 500\n")
    after, _ = code_quality(oomaudit, repo)

    def mysql001(entries):
        (entry,) = [e for e in entries if e["check_name"] == "MYSQL001"]
        return entry

    assert mysql001(after)["fingerprint"] == mysql001(before)["fingerprint"]
    assert (mysql001(before)["location"]["lines"]["begin"],
            mysql001(after)["location"]["lines"]["begin"]) == (2, 3)


def test_a_clean_run_is_an_empty_array(oomaudit, tmp_path):
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: a\n    mem_limit: 1g\n")
    proc = oomaudit("check", "compose.yaml", "--format", "gitlab")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout) == []
