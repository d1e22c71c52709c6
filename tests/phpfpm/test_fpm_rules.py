"""FPM001-FPM003 end to end through the CLI, per-child memory sources, the ledger, the
host profile's process-sizes, memory_limit as PHP reads it, and robustness."""
from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
from conftest import assert_no_traceback, need_program, need_shared
from hypothesis import given, settings
from hypothesis import strategies as st
from oomaudit.plugins.phpfpm.configs import _post_process
from oomaudit.plugins.phpfpm.constants import READER

from oomaudit.host import FILES, Host
from oomaudit.parsers import phpfpm, zendini

ROOT = Path(__file__).resolve().parent / "fixtures" / "root"
POOL = "user = nobody\nlisten = /run/x.sock\n"


def _report(proc) -> dict:
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    return json.loads(proc.stdout)


def test_done_when_120_children_256m_on_4g_fires_fpm001_high(oomaudit):
    """Debian layout under --root: memory_limit comes from php.ini's scan dir (conf.d)."""
    report = _report(oomaudit("scan", "--root", ROOT, "--ram", "4G", "--format", "json",
                              "--select", "FPM,CONF"))
    found = [f for f in report["findings"] if f["rule"] == "FPM001"]
    assert len(found) == 1
    finding = found[0]
    assert finding["severity"] == "high"
    assert finding["path"].endswith("pool.d/www.conf") and finding["line"] == 6
    assert "120 x 288.0 MiB per child (memory_limit + base)" in finding["message"]
    assert finding["fix"].startswith("pm.max_children = 14 ")
    assert any(e["what"] == "memory_limit = 256M" and e["source"].endswith("90-memory.ini:2")
               for e in finding["evidence"])
    assert not [f for f in report["findings"] if f["rule"].startswith("CONF")]


def test_ledger_holds_the_worst_case_and_other_services_are_subtracted(oomaudit, tmp_path):
    (tmp_path / "www.conf").write_text("[www]\n" + POOL + "pm = static\npm.max_children = 14\n"
                                       "php_admin_value[memory_limit] = 96M\n"
                                       "pm.max_requests = 100\n")
    (tmp_path / "my.cnf").write_text("[mysqld]\ninnodb_buffer_pool_size = 2G\n")
    report = _report(oomaudit("check", tmp_path, "--ram", "4G", "--format", "json"))
    ledger = {c["service"]: c for h in report["hosts"] for c in h["ledger"]}
    assert ledger["php-fpm"]["bytes"] == 14 * (128 << 20)
    assert ledger["php-fpm"]["source"].endswith("www.conf:5")
    found = [f for f in report["findings"] if f["rule"] == "FPM001"]
    assert len(found) == 1  # 1.75 GiB no longer fits beside MySQL's worst case
    whats = [e["what"] for e in found[0]["evidence"]]
    assert any(w.startswith("- mysql: ") for w in whats)
    assert any(w.endswith("left for PHP-FPM") for w in whats)


def test_fpm002_keeps_each_pools_share(oomaudit, tmp_path):
    (tmp_path / "a.conf").write_text("[a]\n" + POOL + "pm = static\npm.max_children = 10\n"
                                     "php_admin_value[memory_limit] = 128M\n")
    (tmp_path / "b.conf").write_text("[b]\n" + POOL + "pm = static\npm.max_children = 6\n"
                                     "php_admin_value[memory_limit] = 128M\n")
    report = _report(oomaudit("check", tmp_path, "--ram", "2G", "--format", "json",
                              "--select", "FPM002,FPM001"))
    assert [f["rule"] for f in report["findings"]] == ["FPM002"]  # each alone fits
    fix = report["findings"][0]["fix"]
    assert "[a] pm.max_children = 8 " in fix and "[b] pm.max_children = 4 " in fix


def test_fpm003_and_unlimited_memory_limit(oomaudit, tmp_path):
    (tmp_path / "www.conf").write_text("[www]\n" + POOL + "pm = ondemand\npm.max_children = 5\n"
                                       "php_value[memory_limit] = -1\npm.max_requests = 0\n")
    report = _report(oomaudit("check", tmp_path, "--ram", "4G", "--format", "json"))
    by_rule = {f["rule"]: f for f in report["findings"]}
    assert by_rule["FPM003"]["line"] == 7 and by_rule["FPM003"]["severity"] == "low"
    assert by_rule["FPM001"]["severity"] == "low"
    assert "unlimited" in by_rule["FPM001"]["message"]


def test_declared_per_child_size_from_the_host_profile(oomaudit, tmp_path):
    (tmp_path / ".oomaudit.toml").write_text(
        '[[hosts]]\npaths = ["web/**"]\nram = "1G"\nprocess-sizes = { php-fpm = "100M" }\n')
    (tmp_path / "web").mkdir()
    (tmp_path / "web/www.conf").write_text("[www]\n" + POOL + "pm = static\n"
                                           "pm.max_children = 20\npm.max_requests = 9\n")
    report = _report(oomaudit("check", "web", "--format", "json", cwd=tmp_path))
    finding = next(f for f in report["findings"] if f["rule"] == "FPM001")
    assert "(declared per-child size)" in finding["message"]
    assert finding["fix"].startswith("pm.max_children = 10 ")
    (tmp_path / ".oomaudit.toml").write_text(
        '[[hosts]]\npaths = ["web/**"]\nprocess-sizes = { php-fpm = "lots" }\n')
    proc = oomaudit("check", "web", cwd=tmp_path)
    assert proc.returncode == 2 and "process-sizes.php-fpm: invalid size" in proc.stderr


def test_post_processing_is_conf001_in_php_fpms_words(oomaudit, tmp_path):
    (tmp_path / "www.conf").write_text("[www]\n" + POOL + "pm = dynamic\npm.max_children = 5\n"
                                       "pm.start_servers = 20\npm.min_spare_servers = 1\n"
                                       "pm.max_spare_servers = 3\n")
    report = _report(oomaudit("check", tmp_path, "--format", "json"))
    assert [(f["rule"], f["line"], f["message"]) for f in report["findings"]] == [(
        "CONF001", 6, "php-fpm refuses to start: [pool www] pm.start_servers(20) must not be "
        "less than pm.min_spare_servers(1) and not greater than pm.max_spare_servers(3)")]


def test_no_pool_defined_is_said_of_a_masters_file_not_of_an_empty_pool_file(oomaudit,
                                                                             tmp_path):
    """php-fpm asks its main file for a pool; an empty php-fpm.d/www.conf given alone is a
    fragment of a configuration the repository does not hold."""
    (tmp_path / "php-fpm.d").mkdir()
    (tmp_path / "php-fpm.d" / "www.conf").write_text("; pools come from the role\n")
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc" / "php-fpm.conf").write_text("[global]\nerror_log = /tmp/x.log\n")
    report = _report(oomaudit("check", tmp_path, "--format", "json"))
    assert [(f["rule"], f["path"]) for f in report["findings"]] == [
        ("CONF001", "etc/php-fpm.conf")]
    assert "No pool defined" in report["findings"][0]["message"]


def test_php83_fallback_syntax_is_read_as_82_reads_it_and_the_message_says_so(oomaudit,
                                                                               tmp_path):
    """php-fpm 8.2 (the oracle) takes ${CHILDREN:-50} as the variable "CHILDREN:-50" and
    refuses to start; 8.3 would use 50: the finding must not claim more than it knows."""
    (tmp_path / "www.conf").write_text("[www]\n" + POOL + "pm = static\n"
                                       "pm.max_children = ${CHILDREN:-50}\n")
    report = _report(oomaudit("check", tmp_path, "--format", "json"))
    [finding] = report["findings"]
    assert (finding["rule"], finding["line"]) == ("CONF001", 5)
    assert "PHP 8.3 and later read it as CHILDREN with the default '50'" in finding["message"]


@pytest.mark.parametrize("text", ["256M", "256m", "010", "0x10", "1 M", "-1", " 64M ", "1G",
                                  "2k", "0", "+5M", "0b11", "0o17", "1.5M", "1MB", "abc", "12X"])
def test_memory_limit_as_php_reads_it(text):
    php = need_program("php8.2", "zend_ini_parse_quantity's reference (php8.2-cli)")
    proc = subprocess.run([php, "-n", "-r", "echo ini_parse_quantity($argv[1]);", "--", text],
                          capture_output=True, text=True, timeout=30)
    warned = "Warning" in proc.stdout + proc.stderr
    mine = zendini.quantity(text)
    if warned:
        assert mine is None  # PHP reads something else "for backwards compatibility"
    else:
        assert mine == int(proc.stdout.strip())


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(list("ab=[];\"'${}()|&^~! \t\r\\#\n") +
                                      ["yes", "null", "E_ALL", "pm", "include"]), max_size=60))
def test_any_text_reads_without_raising(tmp_path_factory, parts):
    text = "".join(parts)
    try:  # a syntax error is the only exception a line may raise
        zendini.parse_line(text, {})
    except zendini.IniSyntaxError:
        pass
    main = tmp_path_factory.mktemp("fpm") / "www.conf"
    main.write_text(text)
    host = Host("t", FILES, None)
    config = phpfpm.Loader(host, READER, {}).load(host.read(main, READER))
    _post_process(config)


def _read(line: str) -> tuple:
    try:
        return tuple(zendini.parse_line(line, {}))
    except zendini.IniSyntaxError as exc:
        return str(exc), tuple(exc.done)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(st.sampled_from(list("a=[];\"'$ \t\r\n\x00") + [" ; c", "pm = 1"]),
                      max_size=60))
def test_the_lines_passed_over_hold_nothing(parts):
    """statement_lines skips blank and comment lines in one scan (pool files and php.ini are
    mostly comments): every line php-fpm finds a statement or an error in is among the lines
    it gives, with its number, as the line itself."""
    text = "".join(parts)
    given_lines = dict(zendini.statement_lines(text))
    for number, line in enumerate(text.split("\n"), 1):
        if number in given_lines:
            assert given_lines.pop(number) == line
        else:
            assert _read(line) == (), repr(line)
    assert given_lines == {}


def test_realworld_pools_read_on_their_own(oomaudit):
    folder = need_shared("realworld", "php-fpm")
    report = _report(oomaudit("check", folder, "--ram", "4G", "--format", "json"))
    pools = [c for h in report["hosts"] for c in h["ledger"] if c["service"] == "php-fpm"]
    assert len(pools) == len(list(folder.iterdir()))  # every flattened pool file recognised
    assert not [f for f in report["findings"] if f["rule"] == "CONF001"]


_SNIFF_LINES = st.sampled_from([
    "[www]", "[global]", " [pool] ; note", "[Service]", "pm = dynamic", ";pm.max_children = 5",
    "\tpm\t=\tstatic", "PM = x", "listen = /run/php.sock", "; listen.owner=www",
    "php_admin_value[memory_limit] = 128M", "; php_admin_value[error_log]=x",
    "request_terminate_timeout = 30", "include=/etc/php-fpm.d/*.conf", ";pid = /run/x.pid",
    "error_log = /var/log/x", "process_control_timeout = 10", "pm.max_children", "user = www",
    "include /etc/nginx/*.conf;", "pid /run/nginx.pid;", "; comment", "",
])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(_SNIFF_LINES, st.text(max_size=30)), max_size=20))
def test_sniff_hint_holds_for_every_head_the_sniffer_accepts(lines):
    """The registration writes the sniffer's key patterns out (it may not import the
    parser): a pool or php-fpm.conf the sniffer takes must never be ruled out."""
    head = "\n".join(lines) + "\n"
    if phpfpm.sniff(head):
        assert re.search(READER.sniff_hint, head, re.M), head


def test_sniff_hint_passes_over_nginx_main_files():
    """nginx.conf starts with 'pid ...;' and 'include ...;': not php-fpm's 'key ='."""
    head = "user www-data;\npid /run/nginx.pid;\ninclude /etc/nginx/modules-enabled/*.conf;\n"
    assert not re.search(READER.sniff_hint, head, re.M)
