"""--format sarif, validated against the official SARIF 2.1.0 schema (OASIS, draft-04, with
its URI formats checked) and read as a SARIF consumer reads it: each result's rule, level,
fingerprint and a location that resolves, through its uriBaseId, to the file it is about."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from urllib.parse import unquote, urljoin, urlparse

import jsonschema
import pytest
from conftest import IN_CI, need_shared
from engine_stub import stub_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

CONFIG = """\
[[hosts]]
paths = ["hosts/db1/**"]
ram = "8GiB"
"""
MYCNF = "[mysqld]\ninnodb_buffer_pool_size = 7G\nmax_connections = 500\n"


def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(need_shared("schemas", "sarif-schema-2.1.0.json").read_text())
    assert schema["$schema"] == "http://json-schema.org/draft-04/schema#"
    checker = jsonschema.FormatChecker()
    if "uri-reference" not in checker.checkers:  # needs rfc3986-validator (the test extra)
        if IN_CI:
            pytest.fail("rfc3986-validator is required in CI to check SARIF's URIs")
        pytest.skip("rfc3986-validator not installed: SARIF's URI formats cannot be checked")
    return jsonschema.Draft4Validator(schema, format_checker=checker)


def sarif(proc: subprocess.CompletedProcess, text: str | None = None) -> dict:
    assert "Traceback" not in proc.stderr, proc.stderr
    document = json.loads(proc.stdout if text is None else text)
    errors = sorted(validator().iter_errors(document), key=lambda e: list(e.path))
    assert not errors, [(list(e.path), e.message) for e in errors[:5]]
    return document


@pytest.fixture
def repo(tmp_path) -> Path:
    """A config repository (a git work tree): a database host declared in .oomaudit.toml
    whose my.cnf is too big for it, and a compose file of no declared host."""
    (tmp_path / ".git").mkdir()
    (tmp_path / ".oomaudit.toml").write_text(CONFIG)
    (tmp_path / "hosts" / "db1").mkdir(parents=True)
    (tmp_path / "hosts" / "db1" / "my.cnf").write_text(MYCNF)
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "compose.yaml").write_text("services:\n  app:\n    image: app\n")
    return tmp_path


def test_validates_against_the_official_schema(oomaudit, repo):
    proc = oomaudit("check", ".", "--format", "sarif")
    assert proc.returncode == 1, proc.stderr
    log = sarif(proc)
    assert log["version"] == "2.1.0" and len(log["runs"]) == 1
    (invocation,) = log["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True and invocation["exitCode"] == 1


def test_results_match_the_json_report(oomaudit, repo):
    """Rule, level, message and partialFingerprints, result for finding, as the same run's
    JSON report has them."""
    proc = oomaudit("check", ".", "--format", "sarif", "-o", "out.sarif", "--format", "json",
                    "-o", "-")
    report = json.loads(proc.stdout)
    run = sarif(proc, (repo / "out.sarif").read_text())["runs"][0]
    levels = {"critical": "error", "high": "error", "medium": "warning", "low": "note",
              "info": "note"}
    assert len(run["results"]) == len(report["findings"]) >= 4
    for result, finding in zip(run["results"], report["findings"], strict=True):
        assert result["ruleId"] == finding["rule"]
        assert result["level"] == levels[finding["severity"]]
        assert result["message"]["text"].splitlines()[0] == finding["message"]
        assert result["partialFingerprints"] == {"oomaudit/v1": finding["fingerprint"]}
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == finding["rule"]


def test_one_descriptor_per_rule_checked_with_its_catalogue_text(oomaudit, repo):
    run = sarif(oomaudit("check", ".", "--format", "sarif"))["runs"][0]
    rules = {r["id"]: r for r in json.loads(oomaudit("rules", "--format", "json").stdout)}
    descriptors = run["tool"]["driver"]["rules"]
    assert sorted(d["id"] for d in descriptors) == sorted(rules)  # every rule ran once
    for d in descriptors:
        rule = rules[d["id"]]
        assert d["shortDescription"]["text"] == rule["title"]
        assert rule["rationale"].strip() in d["help"]["text"]
        assert rule["fix"].strip() in d["help"]["text"]
        assert len(d["fullDescription"]["text"]) <= 1024
        assert d.get("helpUri") == (rule["references"] or [None])[0]
    mysql001 = next(d for d in descriptors if d["id"] == "MYSQL001")
    assert mysql001["properties"]["security-severity"] == "8.0"  # high, as GitHub reads it
    assert mysql001["properties"]["tags"][0] == "security"
    assert mysql001["defaultConfiguration"]["level"] == "error"
    conf003 = next(d for d in descriptors if d["id"] == "CONF003")  # info: a quality note
    assert "security-severity" not in conf003["properties"]
    assert "security" not in conf003["properties"]["tags"]


def test_locations_resolve_from_the_repository_root_wherever_it_runs(oomaudit, repo):
    """Run from a subfolder on a relative path: the URI is still relative to the repository
    (the git work tree), and %SRCROOT% + uri is the file itself."""
    proc = oomaudit("check", "db1", "--format", "sarif", cwd=repo / "hosts")
    run = sarif(proc)["runs"][0]
    base = run["originalUriBaseIds"]["%SRCROOT%"]["uri"]
    assert base == repo.as_uri() + "/"
    mysql = [r for r in run["results"] if r["ruleId"] == "MYSQL001"]
    (location,) = mysql[0]["locations"]
    artifact = location["physicalLocation"]["artifactLocation"]
    assert artifact == {"uri": "hosts/db1/my.cnf", "uriBaseId": "%SRCROOT%"}
    assert location["physicalLocation"]["region"] == {"startLine": 2}
    assert unquote(urlparse(urljoin(base, artifact["uri"])).path) == str(
        repo / "hosts" / "db1" / "my.cnf")
    assert location["logicalLocations"] == [{"name": "hosts/db1", "kind": "host"}]


def test_a_host_finding_is_placed_on_its_hosts_table(oomaudit, repo):
    """HOST002 has no file; code scanning fails a whole upload with a result in no file,
    so it goes where the host is declared: the [[hosts]] table of .oomaudit.toml."""
    run = sarif(oomaudit("check", ".", "--format", "sarif"))["runs"][0]
    (host002,) = [r for r in run["results"] if r["ruleId"] == "HOST002"]
    (location,) = host002["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": ".oomaudit.toml", "uriBaseId": "%SRCROOT%"},
        "region": {"startLine": 1}}
    assert location["logicalLocations"] == [{"name": "hosts/db1", "kind": "host"}]
    assert all("physicalLocation" in r["locations"][0] for r in run["results"])


def test_without_a_config_a_host_finding_goes_on_the_hosts_first_file(oomaudit, tmp_path):
    (tmp_path / "my.cnf").write_text(MYCNF)
    run = sarif(oomaudit("check", "my.cnf", "--ram", "4G", "--format", "sarif"))["runs"][0]
    (host002,) = [r for r in run["results"] if r["ruleId"] == "HOST002"]
    physical = host002["locations"][0]["physicalLocation"]
    assert physical == {"artifactLocation": {"uri": "my.cnf", "uriBaseId": "%SRCROOT%"}}


def test_a_scanned_tree_places_host_findings_on_its_config_or_the_host(oomaudit, tmp_path):
    """scan --root: paths relative to the tree; HOST002 on the --config given, and with no
    config only on the host (a file of the system would be an arbitrary place)."""
    tree = tmp_path / "tree"
    (tree / "etc" / "mysql").mkdir(parents=True)
    (tree / "etc" / "mysql" / "my.cnf").write_text(MYCNF)
    (tmp_path / "cfg.toml").write_text("")
    env = {"OOMAUDIT_SYSTEM_CONFIG": str(tmp_path / "none.toml")}
    plain = sarif(oomaudit("scan", "--root", "tree", "--ram", "4G", "--format", "sarif",
                           env=env))["runs"][0]
    assert plain["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tree.as_uri() + "/"
    (mysql,) = [r for r in plain["results"] if r["ruleId"] == "MYSQL001"]
    assert mysql["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == (
        "etc/mysql/my.cnf")
    (host002,) = [r for r in plain["results"] if r["ruleId"] == "HOST002"]
    assert host002["locations"] == [{"logicalLocations": [{"name": "tree", "kind": "host"}]}]
    given = sarif(oomaudit("scan", "--root", "tree", "--ram", "4G", "--config", "cfg.toml",
                           "--format", "sarif", env=env))["runs"][0]
    (host002,) = [r for r in given["results"] if r["ruleId"] == "HOST002"]
    assert host002["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": (tmp_path / "cfg.toml").as_uri()}}


def test_skipped_rules_and_errors_are_notifications(oomaudit, tmp_path):
    (tmp_path / "a.stub").write_text("consumer db 6G\ncrash\n")
    proc = oomaudit("check", "a.stub", "--format", "sarif", env=stub_env())
    assert proc.returncode == 2
    run = sarif(proc)["runs"][0]
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False and invocation["exitCode"] == 2
    notes = invocation["toolExecutionNotifications"]
    assert any(n["level"] == "error" and "STUB002" in n["message"]["text"] for n in notes)
    (skipped,) = [n for n in notes if n["message"]["text"].startswith("HOST002 skipped")]
    assert skipped["associatedRule"]["id"] == "HOST002"
    rules = run["tool"]["driver"]["rules"]
    assert rules[skipped["associatedRule"]["index"]]["id"] == "HOST002"


NAMES = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="/\0"),
                min_size=1, max_size=12).filter(lambda n: not n.startswith("."))
# anything on one line of a .stub file, lone surrogates, escape and bidi controls among it
TEXTS = st.text(st.one_of(st.characters(blacklist_characters="\n\r#"),
                          st.sampled_from(["\ud800", "\udcff", "\x1b", "\u202e", "%"])),
                max_size=30)


@settings(max_examples=25, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=NAMES, text=TEXTS, raw=st.booleans())
def test_any_file_name_and_message_stay_valid_and_resolve(oomaudit, tmp_path, name, text, raw):
    """A file named with spaces, '%', '#', '?' or any script, or with bytes that are not
    UTF-8, and a message holding control characters or lone surrogates: the log stays
    strict UTF-8 and schema-valid, and each URI resolves to the file (bad bytes as U+FFFD)."""
    folder = tmp_path / "case"
    folder.mkdir(exist_ok=True)
    for old in os.listdir(os.fsencode(folder)):
        if old != b".git":
            os.unlink(os.path.join(os.fsencode(folder), old))
    (folder / ".git").mkdir(exist_ok=True)
    real = os.fsencode(name) + (b"\xff" if raw else b"") + b".stub"
    with open(os.path.join(os.fsencode(folder), real), "w", encoding="utf-8",
              errors="surrogatepass") as fh:
        fh.write(f"warn {text}\n")
    proc = oomaudit("check", ".", "--format", "sarif", "-o", "log.sarif", cwd=folder,
                    env=stub_env())
    assert proc.returncode == 1, proc.stderr
    data = (folder / "log.sarif").read_bytes()
    run = sarif(proc, data.decode("utf-8"))["runs"][0]  # strict UTF-8
    shown = os.fsdecode(real).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in run["results"]}
    assert uris and {unquote(uri) for uri in uris} == {shown}
