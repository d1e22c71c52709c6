"""``.oomaudit.toml`` and ``[tool.oomaudit]``: discovery, precedence, what each key does,
and a bad config as one ``oomaudit: error: FILE:LINE: message`` line with exit code 2."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from engine_stub import json_report, one_line_error, stub_env
from hypothesis import given, settings
from hypothesis import strategies as st

WARN = "warn hello\n"  # one STUB001 finding (medium) at line 1


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


@pytest.fixture
def run(oomaudit):
    def run(*args, cwd=None):
        return oomaudit(*args, cwd=cwd, env=stub_env())
    return run


def rules_found(proc) -> list[str]:
    return [f["rule"] for f in json_report(proc)["findings"]]


# -- discovery: walk up from the target, closest wins, --config overrides -------------------

def test_found_by_walking_up_from_the_target(run, tmp_path):
    write(tmp_path / "repo/.oomaudit.toml", 'fail-on = "high"\n')
    write(tmp_path / "repo/deep/er/a.stub", WARN)
    # run from elsewhere: the config is found from the target, not from the working directory
    proc = run("check", "repo/deep/er/a.stub", "--format", "json")
    assert json_report(proc)["fail_on"] == "high" and proc.returncode == 0


def test_closest_config_wins(run, tmp_path):
    write(tmp_path / "repo/.oomaudit.toml", 'fail-on = "high"\n')
    write(tmp_path / "repo/sub/.oomaudit.toml", 'fail-on = "info"\n')
    write(tmp_path / "repo/sub/a.stub", WARN)
    write(tmp_path / "repo/b.stub", WARN)
    assert json_report(run("check", "repo/sub/a.stub", "--format", "json"))["fail_on"] == "info"
    assert json_report(run("check", "repo/b.stub", "--format", "json"))["fail_on"] == "high"


def test_pyproject_tool_table(run, tmp_path):
    write(tmp_path / "repo/pyproject.toml",
          '[project]\nname = "x"\n\n[tool.oomaudit]\nfail-on = "critical"\n')
    write(tmp_path / "repo/a.stub", WARN)
    proc = run("check", "repo/a.stub", "--format", "json")
    assert json_report(proc)["fail_on"] == "critical" and proc.returncode == 0


def test_pyproject_without_our_table_is_not_a_config(run, tmp_path):
    write(tmp_path / "repo/.oomaudit.toml", 'fail-on = "high"\n')
    write(tmp_path / "repo/sub/pyproject.toml", '[tool.ruff]\nline-length = 100\n')
    write(tmp_path / "repo/sub/a.stub", WARN)
    assert json_report(run("check", "repo/sub/a.stub", "--format", "json"))["fail_on"] == "high"


def test_dot_oomaudit_toml_wins_over_pyproject_in_the_same_folder(run, tmp_path):
    write(tmp_path / "repo/pyproject.toml", '[tool.oomaudit]\nfail-on = "critical"\n')
    write(tmp_path / "repo/.oomaudit.toml", 'fail-on = "medium"\n')
    write(tmp_path / "repo/a.stub", WARN)
    assert json_report(run("check", "repo/a.stub", "--format", "json"))["fail_on"] == "medium"


def test_config_option_overrides_the_found_one(run, tmp_path):
    write(tmp_path / "repo/.oomaudit.toml", 'fail-on = "high"\n')
    write(tmp_path / "other.toml", 'fail-on = "info"\n')
    write(tmp_path / "repo/a.stub", WARN)
    proc = run("check", "repo/a.stub", "--format", "json", "--config", "other.toml")
    assert json_report(proc)["fail_on"] == "info"


# -- CLI options override the config ----------------------------------------------------

def test_fail_on_option_overrides_config(run, tmp_path):
    write(tmp_path / ".oomaudit.toml", 'fail-on = "critical"\n')
    write(tmp_path / "a.stub", WARN)
    assert run("check", "a.stub").returncode == 0
    assert run("check", "a.stub", "--fail-on", "medium").returncode == 1


def test_select_option_replaces_config_select(run, tmp_path):
    write(tmp_path / ".oomaudit.toml", 'select = ["CONF"]\n')
    write(tmp_path / "a.stub", WARN + "bogus\n")
    assert rules_found(run("check", "a.stub", "--format", "json")) == ["CONF001"]
    assert rules_found(run("check", "a.stub", "--format", "json", "--select", "STUB")) == [
        "STUB001"]


def test_ignore_option_adds_to_config_ignore(run, tmp_path):
    write(tmp_path / ".oomaudit.toml", 'ignore = ["CONF001"]\n')
    write(tmp_path / "a.stub", WARN + "bogus\n")
    assert rules_found(run("check", "a.stub", "--format", "json")) == ["STUB001"]
    proc = run("check", "a.stub", "--format", "json", "--ignore", "stub001")
    assert rules_found(proc) == [] and proc.returncode == 0


def test_per_path_ignores(run, tmp_path):
    write(tmp_path / ".oomaudit.toml", '[per-path-ignores]\n"legacy/**" = ["STUB"]\n')
    write(tmp_path / "legacy/old/a.stub", WARN + "bogus\n")
    write(tmp_path / "new/a.stub", WARN)
    report = json_report(run("check", ".", "--format", "json"))
    assert sorted((f["path"], f["rule"]) for f in report["findings"]) == [
        ("legacy/old/a.stub", "CONF001"), ("new/a.stub", "STUB001")]
    assert report["summary"]["suppressed"] == 1


@pytest.mark.parametrize("level, fail_on, exit_code", [
    ("info", "low", 0), ("critical", "high", 1), ("high", "critical", 0)])
def test_severity_override_changes_severity_and_exit_code(run, tmp_path, level, fail_on,
                                                          exit_code):
    write(tmp_path / ".oomaudit.toml", f'fail-on = "{fail_on}"\n[severity]\nstub001 = "{level}"\n')
    write(tmp_path / "a.stub", WARN)
    proc = run("check", "a.stub", "--format", "json")
    (finding,) = json_report(proc)["findings"]
    assert finding["severity"] == level
    assert proc.returncode == exit_code


# -- host profiles -----------------------------------------------------------------------

PROFILES = """\
fail-on = "low"

[[hosts]]
paths = ["hosts/db1/**"]
ram = "8GiB"
swap = "2GiB"

[[hosts]]
name = "web"
paths = ["hosts/web*/**"]
ram = 2147483648
"""


def test_host_profiles_give_each_host_its_facts(run, tmp_path):
    config = write(tmp_path / "repo/.oomaudit.toml", PROFILES)
    write(tmp_path / "repo/hosts/db1/etc/db.stub", "consumer db 9G\n")  # 8 < 9 <= 8 + 2
    write(tmp_path / "repo/hosts/web2/etc/web.stub", "consumer web 3G\n")  # 3 > 2 + 0 (no swap)
    write(tmp_path / "repo/common/x.stub", "consumer cron 1G\n")  # no profile: RAM unknown
    report = json_report(run("check", "repo", "--format", "json"))
    hosts = {h["name"]: h for h in report["hosts"]}
    assert set(hosts) == {"hosts/db1", "web", "default"}
    db1 = hosts["hosts/db1"]["facts"]
    assert db1["ram"] == {"value": 8 << 30,
                          "source": f"host profile 'hosts/db1' {config}:3"}
    assert db1["swap"] == {"value": 2 << 30, "source": f"host profile 'hosts/db1' {config}:3"}
    assert hosts["web"]["facts"] == {"ram": {"value": 2 << 30,
                                             "source": f"host profile 'web' {config}:8"}}
    assert hosts["default"]["facts"] == {}
    host002 = {f["host"]: f["severity"] for f in report["findings"] if f["rule"] == "HOST002"}
    assert host002 == {"hosts/db1": "high", "web": "high"}
    skipped = [r["host"] for r in report["rules"]
               if r["rule"] == "HOST002" and r["status"] == "skipped"]
    assert skipped == ["default"]


def test_a_table_named_default_is_not_the_host_of_unclaimed_files(run, tmp_path):
    """The files no table claims make a host called "default"; a table may carry that name
    too, and each must keep its own files and RAM, in whichever order the files come."""
    config = write(tmp_path / "repo/.oomaudit.toml",
                   '[[hosts]]\nname = "default"\npaths = ["b/**"]\nram = "1GiB"\n')
    write(tmp_path / "repo/a/x.stub", "consumer cron 3G\n")  # walked first: unclaimed
    write(tmp_path / "repo/b/y.stub", "consumer db 3G\n")  # 3 > 1: the table's RAM
    report = json_report(run("check", "repo", "--format", "json"))
    hosts = {h["name"]: h["facts"] for h in report["hosts"]}
    assert hosts == {"default": {"ram": {"value": 1 << 30,
                                         "source": f"host profile 'default' {config}:1"}},
                     "default (files no [[hosts]] table claims)": {}}
    host002 = [(f["host"], f["path"]) for f in report["findings"] if f["rule"] == "HOST002"]
    assert host002 == [("default", None)]
    assert not [n for n in report["notices"] if "host trees" in n]


def test_declared_ram_overrides_the_profile(run, tmp_path):
    write(tmp_path / "repo/.oomaudit.toml", PROFILES)
    write(tmp_path / "repo/hosts/db1/db.stub", "consumer db 9G\n")
    report = json_report(run("check", "repo", "--format", "json", "--ram", "16G"))
    (host,) = report["hosts"]
    assert host["facts"]["ram"] == {"value": 16 << 30, "source": "declared: --ram"}
    assert "host profile" in host["facts"]["swap"]["source"]
    assert report["findings"] == []


def test_pyproject_host_profiles(run, tmp_path):
    write(tmp_path / "pyproject.toml",
          '[tool.ruff]\nline-length = 100\n\n[[tool.oomaudit.hosts]]\npaths = ["db/**"]\n'
          'ram = "1G"\n')
    write(tmp_path / "db/a.stub", "consumer db 2G\n")
    report = json_report(run("check", "db", "--format", "json"))
    (host,) = report["hosts"]
    assert host["facts"]["ram"]["source"] == f"host profile 'db' {tmp_path / 'pyproject.toml'}:4"


# -- bad config: one line, FILE:LINE, exit 2 ---------------------------------------------

BAD = [
    ("invalid TOML", 'select = ["STUB"]\nfail-on = \n', 2, "invalid TOML"),
    ("unknown key", '\nselekt = ["STUB"]\n', 2, "unknown key 'selekt'"),
    ("unknown table", 'fail-on = "low"\n\n[severities]\nSTUB001 = "low"\n', 3,
     "unknown key 'severities'"),
    ("unknown dotted key", 'fail-on = "low"\nsev.STUB001 = "low"\n', 2, "unknown key 'sev'"),
    ("bad size", '[[hosts]]\npaths = ["*"]\nram = "8 gigs"\n', 3, "invalid size '8 gigs'"),
    ("boolean size", '[[hosts]]\npaths = ["*"]\n\n[[hosts]]\npaths = ["x"]\nswap = true\n', 6,
     "invalid size"),
    ("bad severity", '[severity]\nSTUB001 = "urgent"\n', 2, "unknown severity 'urgent'"),
    ("bad fail-on", 'ignore = []\nfail-on = "sometimes"\n', 2, "unknown severity 'sometimes'"),
    ("select not a list", 'select = "STUB"\n', 1, "'select' must be a list of strings"),
    ("hosts not tables", 'hosts = ["db1"]\n', 1, "'hosts' must be an array of tables"),
    ("host without paths", 'fail-on = "low"\n[[hosts]]\nram = "1G"\n', 2, "needs 'paths'"),
    ("unknown host key", '[[hosts]]\npaths = ["*"]\nrma = "1G"\n', 3, "unknown key 'rma'"),
    # inline tables hold their keys on their own line
    ("inline per-path list", 'ignore = []\nper-path-ignores = {"legacy/**" = 5}\n', 2,
     "'legacy/**' must be a list of strings"),
    ("inline severity", 'ignore = []\nseverity = {STUB001 = 5}\n', 2, "unknown severity 5"),
    ("inline host size", 'ignore = []\nhosts = [{paths = ["*"], ram = [1]}]\n', 2,
     "invalid size"),
    ("inline process size", 'hosts = [{paths = ["*"], process-sizes = {php-fpm = true}}]\n',
     1, "process-sizes.php-fpm"),
    ("second host's paths", '[[hosts]]\npaths = ["a/*"]\n[[hosts]]\nram = "1G"\npaths = 5\n',
     5, "'paths' must be a list of strings"),
    ("zero ram", '[[hosts]]\npaths = ["*"]\nswap = 0\nram = "0G"\n', 4, "ram must be above 0"),
    ("host name not text", '[[hosts]]\npaths = ["*"]\nname = 5\n', 3,
     "'name' must be a string"),
    ("each not text", 'fail-on = "low"\n[[hosts]]\neach = ["hosts/*"]\n', 3,
     "'each' must be a folder pattern"),
    ("each absolute", '[[hosts]]\nram = "1G"\neach = "/srv/hosts/*"\n', 3,
     "'each' is relative to this file's folder"),
    ("each recursive", '[[hosts]]\neach = "hosts/**"\n', 2, "no '/' first, no '.', '..' or '**'"),
    ("each climbs", '[[hosts]]\npaths = ["a/**"]\n[[hosts]]\neach = "../hosts/*"\n', 4,
     "not '../hosts/*'"),
    ("each with paths", '[[hosts]]\neach = "hosts/*"\npaths = ["hosts/**"]\n', 3,
     "[[hosts]] with 'each' takes no 'paths'"),
    ("each with a name", '[[hosts]]\neach = "hosts/*"\nram = "2G"\nname = "web"\n', 4,
     "each host is named after its folder"),
]


@pytest.mark.parametrize("text, line, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_is_one_line_with_file_and_line(run, tmp_path, text, line, message):
    config = write(tmp_path / ".oomaudit.toml", text)
    write(tmp_path / "a.stub", WARN)
    error = one_line_error(run("check", "a.stub"))
    assert error.startswith(f"oomaudit: error: {config}:{line}: "), error
    assert message in error


def test_bad_pyproject_names_our_line_not_another_tools(run, tmp_path):
    """``select`` of [tool.ruff.lint] comes first in the file; the error is about ours."""
    config = write(tmp_path / "pyproject.toml",
                   '[tool.ruff.lint]\nselect = ["E"]\n\n[tool.oomaudit]\nselect = "STUB"\n')
    write(tmp_path / "a.stub", WARN)
    error = one_line_error(run("check", "a.stub"))
    assert error.startswith(f"oomaudit: error: {config}:5: ")


def test_bad_config_given_with_option(run, tmp_path):
    config = write(tmp_path / "conf/mine.toml", 'fail-on = "low"\nbogus = 1\n')
    write(tmp_path / "a.stub", WARN)
    error = one_line_error(run("check", "a.stub", "--config", str(config)))
    assert re.fullmatch(rf"oomaudit: error: {re.escape(str(config))}:2: unknown key 'bogus'.*",
                        error)


def test_non_utf8_config(run, tmp_path):
    (tmp_path / ".oomaudit.toml").write_bytes(b'fail-on = "l\xffow"\n')
    write(tmp_path / "a.stub", WARN)
    assert str(tmp_path / ".oomaudit.toml") in one_line_error(run("check", "a.stub"))


@pytest.mark.parametrize("kind", ["fifo", "folder"])
def test_a_config_that_is_no_regular_file_is_one_line_not_the_defaults(run, tmp_path, kind):
    """A FIFO or a folder named .oomaudit.toml was taken as no config: the run went on with
    the defaults instead of what the repository says (and a FIFO must not be waited on)."""
    config = tmp_path / ".oomaudit.toml"
    if kind == "fifo":
        os.mkfifo(config)
    else:
        config.mkdir()
    write(tmp_path / "a.stub", WARN)
    assert one_line_error(run("check", "a.stub")) == \
        f"oomaudit: error: {config}: not a regular file; a config must be one"


def test_bad_config_writes_no_report(run, tmp_path):
    write(tmp_path / ".oomaudit.toml", "bogus = 1\n")
    write(tmp_path / "a.stub", WARN)
    one_line_error(run("check", "a.stub", "--format", "json", "-o", "out.json"))
    assert not (tmp_path / "out.json").exists()


def test_empty_config_is_the_defaults(run, tmp_path):
    write(tmp_path / ".oomaudit.toml", "")
    write(tmp_path / "a.stub", WARN)
    proc = run("check", "a.stub", "--format", "json")
    assert json.loads(proc.stdout)["fail_on"] == "low" and proc.returncode == 1


# -- any shape under any key: a Settings or one UsageError, never another exception ---------

_KEYS = ["select", "ignore", "per-path-ignores", "severity", "fail-on", "critical-services",
         "memory-alert-percent", "swap-alert-percent", "hosts", "paths", "ram", "swap", "name",
         "role", "process-sizes", "php-fpm", "legacy/**", "STUB001"]
_SCALARS = st.one_of(st.sampled_from(["low", "high", "8G", "0", "-1G", "STUB", "**", "", "x\"y"]),
                     st.integers(-2, 1 << 70), st.floats(allow_nan=True), st.booleans())
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3)),
    max_leaves=10)


def _toml(value) -> str:
    """An inline TOML value (the test writes every key on one line of its own)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        return {"nan": "nan", "inf": "inf", "-inf": "-inf"}.get(repr(value), repr(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(map(_toml, value)) + "]"
    return "{" + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + "}"


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.sampled_from(_KEYS), _VALUES, max_size=5))
def test_any_config_loads_or_is_one_usage_error(tmp_path_factory, data):
    from oomaudit.config import Settings, load
    from oomaudit.errors import UsageError

    path = tmp_path_factory.mktemp("cfg") / ".oomaudit.toml"
    path.write_text("".join(f"{json.dumps(k)} = {_toml(v)}\n" for k, v in data.items()))
    try:
        assert isinstance(load(path), Settings)
    except UsageError as exc:
        assert str(exc).startswith(str(path)) and "\n" not in str(exc)
