"""``oomaudit budget`` and the bar: the overflow drawn past RAM's end, the legend, the
table's arithmetic, an exit code that agrees with HOST002, the JSON schema, colour only
where colour is on, and no escape sequence from a config reaching the terminal raw."""
from __future__ import annotations

import copy
import json
import os
import re
import subprocess
import sys
from importlib import resources

import jsonschema
import pytest
from conftest import REPO
from engine_stub import assert_no_traceback, one_line_error, stub_env
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit import __version__
from oomaudit.host import terminal
from oomaudit.report import HostFacts
from oomaudit.reporters import budget as view

G = 1 << 30
MYSQL002 = REPO / "tests" / "mysql" / "fixtures" / "mysql002"
SGR = re.compile(r"\x1b\[[0-9;]*m")
BAR = re.compile(r"  (\|[^ ]*)  (.*)")


def schema() -> dict:
    """As installed with the package (package-data), not read from the repository."""
    return json.loads(resources.files("oomaudit").joinpath("budget.schema.json")
                      .read_text(encoding="utf-8"))


def validate(doc: dict) -> None:
    jsonschema.Draft202012Validator(schema()).validate(doc)


def budget_json(proc: subprocess.CompletedProcess) -> dict:
    assert_no_traceback(proc)
    doc = json.loads(proc.stdout)
    validate(doc)
    assert doc["exit_code"] == proc.returncode, proc.stderr
    return doc


def stub(tmp_path, text: str = "consumer db 6G\nconsumer web 4G\n"):
    (tmp_path / "a.stub").write_text(text)


def bar_of(stdout: str) -> tuple[list[str], str, str]:
    """The first bar in ``stdout``: its regions (split at '|'), the text after it, and the
    legend line below it."""
    lines = stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if BAR.fullmatch(line))
    drawing, verdict = BAR.fullmatch(lines[at]).groups()
    return drawing.split("|")[1:], verdict, "\n".join(lines[at + 1:at + 3])


# -- the drawing, through the real CLI ----------------------------------------------------

def test_overflow_is_drawn_past_the_end_of_ram(oomaudit, tmp_path):
    stub(tmp_path)
    proc = oomaudit("budget", "a.stub", "--ram", "8G", env=stub_env())
    assert_no_traceback(proc)
    assert proc.returncode == 1  # 10 GiB of worst case on 8 GiB: HOST002's condition
    (ram, beyond), verdict, legend = bar_of(proc.stdout)
    assert len(ram) == view.RAM_CELLS and set(ram) == {"d", "w"}  # RAM full, not capped
    assert ram.count("d") == 30 and ram.count("w") == 10  # 6 GiB of 8 = 3/4 of the RAM
    assert beyond == "w" * 10 + ">"  # the 2 GiB over, at the same scale, past the end
    assert verdict == "10.0 GiB (125.0% of RAM), 2.0 GiB over"
    assert "d=db (6.0 GiB, a.stub:1)" in legend and "w=web (4.0 GiB, a.stub:2)" in legend
    assert "|RAM 8.0 GiB|beyond>" in legend
    # the table keeps the arithmetic and where each number came from
    assert re.search(r"\n  db +6\.0 GiB +75\.0%  consumer db \(a\.stub:1\)\n", proc.stdout)
    assert re.search(r"\n  total +10\.0 GiB +125\.0% of RAM; 2\.0 GiB over\n", proc.stdout)


def test_a_host_within_ram_shows_what_is_left_and_exits_0(oomaudit, tmp_path):
    stub(tmp_path)
    proc = oomaudit("budget", "a.stub", "--ram", "16G", "--swap", "4G", env=stub_env())
    assert proc.returncode == 0, proc.stderr
    (ram, swap, end), verdict, legend = bar_of(proc.stdout)
    assert ram == "d" * 15 + "w" * 10 + "." * 15 and swap == "~" * 10 and end == ""
    assert verdict == "10.0 GiB (62.5% of RAM), 6.0 GiB left"
    assert ".=free RAM" in legend and "~=free swap" in legend and ">" not in legend


def test_swap_is_a_region_after_ram_and_the_rest_goes_past_both(oomaudit, tmp_path):
    stub(tmp_path)
    proc = oomaudit("budget", "a.stub", "--ram", "8G", "--swap", "1G", env=stub_env())
    assert proc.returncode == 1
    (ram, swap, beyond), verdict, legend = bar_of(proc.stdout)
    assert len(ram) == 40 and swap == "wwwww" and beyond == "wwwww>"
    assert verdict == "10.0 GiB (125.0% of RAM), 2.0 GiB over RAM, 1.0 GiB over RAM + swap"
    assert "|RAM 8.0 GiB|swap 1.0 GiB|beyond>" in legend
    within = oomaudit("budget", "a.stub", "--ram", "8G", "--swap", "4G", env=stub_env())
    (ram, swap, end), verdict, _ = bar_of(within.stdout)
    assert swap == "w" * 10 + "~" * 10 and end == ""
    assert verdict.endswith("2.0 GiB over RAM, within RAM + swap")


def test_a_fixture_tree_far_beyond_ram_shrinks_the_scale_not_the_overflow(oomaudit):
    """mysql002's my.cnf claims 13 GiB: on 4 GiB the drawing keeps the ratio (RAM is the
    first 22 cells of 72) instead of stopping at 100%."""
    proc = oomaudit("budget", MYSQL002, "--ram", "4G")
    assert_no_traceback(proc)
    assert proc.returncode == 1
    (ram, beyond), verdict, legend = bar_of(proc.stdout)
    assert set(ram + beyond[:-1]) == {"m"} and beyond.endswith(">")
    assert len(ram) + len(beyond) - 1 == view.MAX_CELLS
    assert round(len(ram) / view.MAX_CELLS, 2) == round(4 / 13.0, 2)
    assert verdict.startswith("13.0 GiB (325.4% of RAM), 9.0 GiB over")
    assert "m=mysql (13.0 GiB, " in legend and "my.cnf:4)" in legend
    assert "innodb" in proc.stdout or "server buffers" in proc.stdout  # the how column


def test_ram_unknown_draws_no_bar_and_says_why(oomaudit, tmp_path):
    stub(tmp_path)
    proc = oomaudit("budget", "a.stub", env=stub_env())
    assert proc.returncode == 0  # nothing to judge: HOST002 is skipped, as in check
    lines = proc.stdout.splitlines()
    assert lines[0] == "host default: RAM unknown, swap unknown"
    assert lines[1].startswith("  no bar: ram unknown: declare it with --ram")
    assert "|" not in proc.stdout
    assert re.fullmatch(r"  db +6\.0 GiB +\?  consumer db \(a\.stub:1\)", lines[2])


def test_a_host_without_consumers(oomaudit, tmp_path):
    stub(tmp_path, "# nothing\n")
    proc = oomaudit("budget", "a.stub", "--ram", "8G", env=stub_env())
    assert proc.returncode == 0
    assert proc.stdout.splitlines()[1] == "  no memory consumers found in the configs read"


# -- the exit code is HOST002's ------------------------------------------------------------

@pytest.mark.parametrize("facts, extra, expected", [
    (["--ram", "16G"], [], 0),
    (["--ram", "8G"], [], 1),  # over RAM: HOST002 high
    (["--ram", "8G"], ["--exit-zero"], 0),
    (["--ram", "8G", "--swap", "4G"], ["--fail-on", "critical"], 0),  # within RAM + swap
    (["--ram", "8G", "--swap", "1G"], ["--fail-on", "critical"], 1),  # beyond: critical
    ([], [], 0),  # RAM unknown: skipped
], ids=["fits", "over", "exit-zero", "high-below-fail-on", "critical", "ram-unknown"])
def test_budget_exits_as_check_does_on_host002(oomaudit, tmp_path, facts, extra, expected):
    stub(tmp_path)
    budget = oomaudit("budget", "a.stub", *facts, *extra, env=stub_env())
    check = oomaudit("check", "a.stub", "--select", "HOST002", *facts, *extra, env=stub_env())
    assert budget.returncode == check.returncode == expected, (budget.stdout, budget.stderr)


def test_the_configs_severity_and_fail_on_count_its_select_does_not(oomaudit, tmp_path):
    """A config's [severity] and fail-on say how serious HOST002 is, for budget as for
    check; its select (written for check) must not make budget pass by never judging."""
    stub(tmp_path)
    (tmp_path / ".oomaudit.toml").write_text(
        'fail-on = "medium"\nselect = ["STUB"]\n[severity]\nHOST002 = "low"\n')
    proc = oomaudit("budget", "a.stub", "--ram", "8G", env=stub_env())
    assert proc.returncode == 0, proc.stderr
    assert budget_json(oomaudit("budget", "a.stub", "--ram", "8G", "--format", "json",
                                env=stub_env()))["hosts"][0]["verdict"] == {
        "status": "failed", "severity": "low",
        "detail": "services' worst case 10.0 GiB exceeds RAM 8.0 GiB by 2.0 GiB"}
    (tmp_path / ".oomaudit.toml").write_text('select = ["STUB"]\n')
    assert oomaudit("budget", "a.stub", "--ram", "8G", env=stub_env()).returncode == 1


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_select_and_ignore_are_refused_and_not_offered(oomaudit, tmp_path, option):
    stub(tmp_path)
    line = one_line_error(oomaudit("budget", "a.stub", option, "HOST002", env=stub_env()))
    assert line == (f"oomaudit: error: {option} does not apply to budget: it counts every "
                    "consumer and exits 1 when HOST002 fails (use --fail-on or --exit-zero)")
    help_text = oomaudit("budget", "--help").stdout
    assert option not in help_text and "--fail-on" in help_text and "--exit-zero" in help_text


def test_refuses_a_report_format(oomaudit, tmp_path):
    stub(tmp_path)
    line = one_line_error(oomaudit("budget", "a.stub", "--format", "junit", env=stub_env()))
    assert line == "oomaudit: error: --format junit: budget prints text or json"


# -- JSON ----------------------------------------------------------------------------------

def test_schema_is_a_valid_draft_2020_12_schema():
    jsonschema.Draft202012Validator.check_schema(schema())


def test_json_follows_the_schema_and_says_what_the_text_says(oomaudit, tmp_path):
    stub(tmp_path)
    proc = oomaudit("budget", "a.stub", "--format", "json", "--ram", "8G", "--swap", "1G",
                    env=stub_env())
    doc = budget_json(proc)
    assert proc.returncode == 1
    assert (doc["schema_version"], doc["tool"]) == (1, {"name": "oomaudit",
                                                        "version": __version__})
    assert (doc["target"], doc["fail_on"]) == ("a.stub", "low")
    (host,) = doc["hosts"]
    assert host["ram"] == {"bytes": 8 * G, "source": "declared: --ram"}
    assert host["swap"] == {"bytes": 1 * G, "source": "declared: --swap"}
    assert host["consumers"] == [
        {"service": "db", "bytes": 6 * G, "how": "consumer db", "source": "a.stub:1",
         "plugin": "stub"},
        {"service": "web", "bytes": 4 * G, "how": "consumer web", "source": "a.stub:2",
         "plugin": "stub"}]
    assert host["total"] == 10 * G and host["left"] == -2 * G
    assert host["verdict"]["status"] == "failed" and host["verdict"]["severity"] == "critical"


def test_json_without_ram(oomaudit, tmp_path):
    stub(tmp_path)
    doc = budget_json(oomaudit("budget", "a.stub", "--format", "json", env=stub_env()))
    (host,) = doc["hosts"]
    assert host["ram"] is None and host["left"] is None and doc["exit_code"] == 0
    assert host["verdict"]["status"] == "skipped"
    assert host["verdict"]["detail"].startswith("ram unknown")


def test_json_of_a_tree_and_of_several_hosts(oomaudit, tmp_path):
    (tmp_path / "hosts" / "db1").mkdir(parents=True)
    (tmp_path / "hosts" / "web1").mkdir(parents=True)
    (tmp_path / "hosts" / "db1" / "a.stub").write_text("consumer db 6G\n")
    (tmp_path / "hosts" / "web1" / "a.stub").write_text("consumer web 6G\n")
    (tmp_path / ".oomaudit.toml").write_text(
        '[[hosts]]\nname = "db1"\npaths = ["hosts/db1/**"]\nram = "8G"\n'
        '[[hosts]]\nname = "web1"\npaths = ["hosts/web1/**"]\nram = "4G"\n')
    proc = oomaudit("budget", "hosts", "--format", "json", env=stub_env())
    doc = budget_json(proc)
    verdicts = {h["host"]: h["verdict"]["status"] for h in doc["hosts"]}
    assert verdicts == {"db1": "passed", "web1": "failed"} and proc.returncode == 1


@pytest.mark.parametrize("mutate", [
    lambda d: d.update(extra=1),
    lambda d: d.update(schema_version=2),
    lambda d: d.update(exit_code=3),
    lambda d: d.pop("generated_at"),
    lambda d: d["hosts"][0]["ram"].update(bytes="8G"),
    lambda d: d["hosts"][0]["consumers"][0].pop("how"),
    lambda d: d["hosts"][0].update(total=1.5),
    lambda d: d["hosts"][0]["verdict"].update(status="maybe"),
    lambda d: d["hosts"][0]["verdict"].update(severity=None),
    lambda d: d["hosts"][0]["verdict"].update(status="passed"),  # a severity without a finding
    lambda d: d.update(fail_on="urgent"),
], ids=["top-level key", "version", "exit code", "timestamp", "ram", "consumer key", "total",
        "status", "failed without severity", "passed with severity", "fail_on"])
def test_schema_rejects_what_consumers_must_not_see(oomaudit, tmp_path, mutate):
    stub(tmp_path)
    doc = budget_json(oomaudit("budget", "a.stub", "--format", "json", "--ram", "8G",
                               env=stub_env()))
    bad = copy.deepcopy(doc)
    mutate(bad)
    with pytest.raises(jsonschema.ValidationError):
        validate(bad)


# -- scan / check text ---------------------------------------------------------------------

def test_check_draws_the_bar_after_the_findings_when_host002_fires(oomaudit):
    proc = oomaudit("check", MYSQL002, "--ram", "4G")
    assert_no_traceback(proc)
    out = proc.stdout
    title = "Worst-case memory against RAM (host default):"
    assert title in out
    assert out.index("HOST002") < out.index(title) < out.index(" finding")  # then the summary
    (ram, beyond), verdict, legend = bar_of(out[out.index(title):])
    assert beyond.endswith(">") and "m=mysql (13.0 GiB" in legend


def test_check_draws_no_bar_when_the_worst_case_fits(oomaudit, tmp_path):
    stub(tmp_path)
    proc = oomaudit("check", "a.stub", "--ram", "16G", env=stub_env())
    assert "Worst-case memory" not in proc.stdout and "|" not in proc.stdout
    ignored = oomaudit("check", "a.stub", "--ram", "8G", "--ignore", "HOST002", env=stub_env())
    assert "Worst-case memory" not in ignored.stdout  # the bar illustrates HOST002's finding


def test_quiet_check_draws_no_bar(oomaudit):
    proc = oomaudit("check", MYSQL002, "--ram", "4G", "--quiet")
    assert "HOST002" in proc.stdout and "Worst-case memory" not in proc.stdout


def test_scan_of_a_tree_draws_it_too(oomaudit, tmp_path):
    (tmp_path / "etc" / "mysql").mkdir(parents=True)
    (tmp_path / "etc" / "mysql" / "my.cnf").write_text(
        (MYSQL002 / "my.cnf").read_text())
    proc = oomaudit("scan", "--root", tmp_path, "--ram", "4G")
    assert_no_traceback(proc)
    assert f"Worst-case memory against RAM ({tmp_path}):" in proc.stdout


# -- colour and hostile text -----------------------------------------------------------------

def on_a_terminal(*args: str, cwd, env: dict) -> tuple[str, int]:
    """Run the CLI with stdout on a pseudo-terminal, as a user at a shell would."""
    import pty

    master, slave = pty.openpty()
    full_env = {k: v for k, v in os.environ.items() if k not in ("NO_COLOR", "FORCE_COLOR")}
    proc = subprocess.Popen([sys.executable, "-m", "oomaudit", *args], cwd=cwd,
                            env={**full_env, **env}, stdin=subprocess.DEVNULL, stdout=slave,
                            stderr=subprocess.PIPE)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 1 << 16)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    os.close(master)
    assert proc.wait(timeout=120) in (0, 1), proc.stderr.read()
    return b"".join(chunks).decode().replace("\r\n", "\n"), proc.returncode


def test_colour_only_on_a_terminal(oomaudit, tmp_path):
    stub(tmp_path)
    coloured, code = on_a_terminal("budget", "a.stub", "--ram", "8G", cwd=tmp_path,
                                   env=stub_env())
    assert code == 1
    assert "\x1b[30;44m" in coloured and "\x1b[30;42m" in coloured  # one colour per service
    plain = oomaudit("budget", "a.stub", "--ram", "8G", env=stub_env()).stdout  # NO_COLOR
    assert SGR.sub("", coloured) == plain
    piped = oomaudit("budget", "a.stub", "--ram", "8G", env=stub_env(NO_COLOR=""))
    assert "\x1b" not in piped.stdout  # not a terminal
    no_color, _ = on_a_terminal("budget", "a.stub", "--ram", "8G", "--no-color", cwd=tmp_path,
                                env=stub_env())
    assert no_color == plain
    always = oomaudit("budget", "a.stub", "--ram", "8G", "--color", "always", env=stub_env())
    assert always.stdout == coloured  # asked for in a pipe: the same colours


HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x9b31m\u202e"


def test_escape_sequences_from_configs_never_reach_the_terminal(oomaudit, tmp_path):
    folder = tmp_path / f"ev{HOSTILE}il"
    folder.mkdir()
    (folder / "x.stub").write_text(f"consumer db{HOSTILE} 6G\nconsumer web 4G\n")
    plain = oomaudit("budget", folder.name, "--ram", "8G", env=stub_env())
    assert plain.returncode == 1
    for char in "\x1b\x07\x9b\u202e":
        assert char not in plain.stdout
    assert "db\\x1b[2J\\x1b]0;pwned\\x07\\x9b31m\\u202e" in plain.stdout
    coloured, _ = on_a_terminal("budget", folder.name, "--ram", "8G", cwd=tmp_path,
                                env=stub_env())
    assert "\x1b" not in SGR.sub("", coloured)  # only the colours we chose
    assert "\x07" not in coloured and "\u202e" not in coloured
    check = oomaudit("check", folder.name, "--ram", "8G", env=stub_env()).stdout
    drawn = check[check.index("Worst-case memory"):]
    assert "\x1b" not in drawn and "\\x1b" in drawn


# -- the drawing for any sizes ---------------------------------------------------------------

sizes = st.integers(min_value=0, max_value=1 << 44)
names = st.text(min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(ram=st.integers(min_value=1, max_value=1 << 42), swap=st.one_of(st.none(), sizes),
       consumers=st.lists(st.tuples(names, sizes), min_size=1, max_size=80))
def test_any_ledger_draws_one_honest_bar(ram, swap, consumers):
    facts = {"ram": (ram, "declared: --ram")}
    if swap is not None:
        facts["swap"] = (swap, "declared: --swap")
    ledger = [{"service": n, "bytes": b, "how": "x", "source": f"{n}:1", "plugin": "p"}
              for n, b in consumers]
    host = HostFacts("h", "files", "host h", facts, ledger, {})
    lines = view.draw(host, False)
    total = sum(b for _, b in consumers)
    if total == 0:
        assert lines == []
        return
    for line in lines:
        assert not re.search("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]", line)
    drawing, verdict = BAR.fullmatch(lines[0]).groups()
    regions = drawing.split("|")[1:]
    swapped = bool(swap)
    assert len(regions) == 2 + swapped
    cells = "".join(regions).rstrip(">")
    assert len(cells) <= view.MAX_CELLS + 2
    assert drawing.endswith(">") == (total > ram + (swap or 0))  # past the end, or not
    assert ("." in regions[0]) <= (total < ram)  # free RAM only when some is left
    if total > ram:
        assert set(regions[0]) <= set(view._SYMBOLS + view._MORE)  # RAM full: no free cell
    symbols = [c for c in cells if c not in ".~"]
    assert symbols  # however small, a worst case above 0 shows
    runs = [s for i, s in enumerate(symbols) if i == 0 or symbols[i - 1] != s]
    assert len(runs) == len(set(runs)) or "+" in runs  # each service is one segment
    assert (f"{view.format_size(total)} (" in verdict)
    assert ("left" in verdict) == (total <= ram)
    legend = "\n".join(lines[1:])
    shares = {}
    for name, nbytes in consumers:
        shares[name] = shares.get(name, 0) + nbytes
    drawn = [name for name, nbytes in shares.items() if nbytes > 0]
    assert ("more services" in legend) == (len(drawn) > len(view._SYMBOLS))
    assert all(f"={terminal(name)} (" in legend for name in drawn[:len(view._SYMBOLS)])
    coloured = view.draw(host, True)
    assert [SGR.sub("", line) for line in coloured] == lines


def test_services_beyond_the_symbols_share_one_and_the_legend_counts_them():
    ledger = [{"service": f"svc{n}", "bytes": G, "how": "x", "source": f"f:{n}", "plugin": "p"}
              for n in range(70)]
    host = HostFacts("h", "files", "host h", {"ram": (100 * G, "declared: --ram")}, ledger, {})
    lines = view.draw(host, False)
    assert lines[0].count("+") > 0 and "+=8 more services (8.0 GiB)" in "\n".join(lines)
    assert "s=svc0 (1.0 GiB, f:0)" in lines[1] and "v=svc1 (1.0 GiB, f:1)" in lines[1]
    assert all(len(line) <= view.LEGEND_WIDTH + 2 for line in lines[1:])
