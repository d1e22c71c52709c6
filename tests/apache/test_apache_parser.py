"""The Apache reader on its own: line reading, words, envvars, atoi, the Debian and RHEL
layouts under --root, includes that are missing (CONF002), and any text at all (never
an exception; a CONF001 at a line of the file instead)."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from oomaudit.plugins.apache import servers as apache_servers
from oomaudit.plugins.apache.constants import READER
from oomaudit.plugins.apache.rules import check_httpd002, check_httpd003
from oomaudit.plugins.apache.servers import servers
from oomaudit.plugins.apache.sniff import looks_like_apache

from oomaudit.host import FILES, ROOT, Host
from oomaudit.parsers.apache_mpm import atoi
from oomaudit.parsers.apache_syntax import envvars, getword, logical_lines, parse_file


def test_logical_lines_follow_cfg_getline():
    text = "A \\\n  1\n# c \\\nB 2\r\nC 3\\\r\n0\n  D\t4  \nE 5 \\\n"
    assert [(ln.number, ln.text) for ln in logical_lines(text)] == [
        (2, "A   1"), (4, "# c B 2"), (6, "C 30"), (7, "D\t4"), (9, "E 5")]
    assert [(ln.number, ln.text) for ln in logical_lines("X 1\\")] == [(1, "X 1\\")]


def test_getword_quotes_and_escapes():
    assert getword('  "a b" rest ') == ("a b", "rest ")
    assert getword(r"'it\'s' x") == ("it's", "x")
    assert getword(r"a\\b c") == ("a\\b", "c")
    assert getword('"unterminated') == ("unterminated", "")
    assert getword("   ") == ("", "")


def test_atoi_reads_like_glibc():
    assert [atoi(v) for v in ("10k", "abc", " 7", "-3x", "", "99999999999",
                              "9" * 30)] == [10, 0, 7, -3, 0, 1215752191, -1]


def test_envvars_exports_only_never_run():
    text = ('unset HOME\nif [ x ]; then\n  SUFFIX="-x"\nfi\n'
            "export APACHE_RUN_USER=www-data\nexport APACHE_PID_FILE=/var/run/apache2$SUFFIX"
            '/apache2.pid\nexport APACHE_LOG_DIR="/var/log/apache2"  # logs\n'
            "export X=${APACHE_RUN_USER}-1\n$(touch /tmp/never)\n")
    assert envvars(text) == {"APACHE_RUN_USER": "www-data",
                             "APACHE_PID_FILE": "/var/run/apache2/apache2.pid",
                             "APACHE_LOG_DIR": "/var/log/apache2", "X": "www-data-1"}


def _tree(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_rhel_layout_under_root(tmp_path):
    """RHEL: conf/httpd.conf with ServerRoot /etc/httpd, conf.modules.d and conf.d, all
    resolved inside --root; IncludeOptional of nothing is fine."""
    _tree(tmp_path, {
        "etc/httpd/conf/httpd.conf": 'ServerRoot "/etc/httpd"\nInclude conf.modules.d/*.conf\n'
                                     "IncludeOptional conf.d/*.conf\n"
                                     "IncludeOptional /etc/httpd/extra/*.conf\n",
        "etc/httpd/conf.modules.d/00-mpm.conf":
            "LoadModule mpm_worker_module modules/mod_mpm_worker.so\n",
        "etc/httpd/conf.d/mpm.conf": "<IfModule worker.c>\nMaxRequestWorkers 1000\n"
                                     "</IfModule>\n"})
    [server] = servers(Host("rhel", ROOT, tmp_path))
    assert server.error is None and server.mpm.name == "worker"
    assert server.limits.max_workers == 400  # AH00318: 16 servers x 25 threads
    assert [c.message.split(":")[0] for c in server.limits.clamps] == ["AH00318"]
    assert server.config.files[-1] == tmp_path / "etc/httpd/conf.d/mpm.conf"


def test_missing_include_is_conf002_under_root(tmp_path):
    _tree(tmp_path, {"etc/apache2/apache2.conf": "LoadModule mpm_event_module x.so\n"
                                                 "Include sites/*.conf\n"})
    host = Host("t", ROOT, tmp_path)
    [server] = servers(host)
    assert server.error.rule == "CONF002" and server.error.line == 2
    assert "Could not open directory /etc/apache2/sites" in server.error.message
    source = host.sources[tmp_path / "etc/apache2/apache2.conf"]
    assert [(f.rule, f.line) for f in source.problems] == [("CONF002", 2)]


def test_repository_fragment_assumes_its_mpm(tmp_path):
    """In `check`, a lone file loads no MPM: the file name, else the only MPM its sections
    name, else event; the finding says it was assumed."""
    _tree(tmp_path, {"x__mods-enabled__mpm_worker.conf": "ThreadsPerChild 50\n",
                     "httpd.conf": "<IfModule prefork.c>\nMaxClients 10\n</IfModule>\n",
                     "apache2.conf": "ServerLimit 4\n"})
    host = Host("repo", FILES, None)
    host.docs["apache"] = [parse_file(host.read(p, READER))
                           for p in sorted(tmp_path.iterdir())]
    found = {s.config.top.name: (s.mpm.name, s.mpm_source) for s in servers(host)}
    assert {k: v[0] for k, v in found.items()} == {
        "x__mods-enabled__mpm_worker.conf": "worker", "httpd.conf": "prefork",
        "apache2.conf": "event"}
    assert all("assumed" in why for _, why in found.values())


def test_included_fragment_is_not_a_server_of_its_own(tmp_path):
    _tree(tmp_path, {"etc/httpd/conf/httpd.conf": "Include conf.d/*.conf\n",
                     "etc/httpd/conf.d/mpm.conf": "MaxRequestWorkers 100\n"})
    host = Host("repo", FILES, None)
    host.docs["apache"] = [parse_file(host.read(p, READER))
                           for p in sorted(tmp_path.rglob("*.conf"))]
    [server] = servers(host)
    assert server.config.top.name == "httpd.conf"
    assert server.limits.settings["MaxRequestWorkers"].line == 1


TOKENS = st.sampled_from([
    "<IfModule ", "<IfModule>", "</IfModule>", "<IfDefine ", "</IfDefine>", "<Directory /",
    "</Directory>", ">", "!", "prefork.c", "mpm_event_module", "Include ", "IncludeOptional ",
    "*.conf", "..", "/", "Define ", "UnDefine ", "${", "}", "X", "MaxRequestWorkers ",
    "ServerLimit ", "ThreadsPerChild ", "LoadModule ", "ServerRoot ", '"', "'", "\\", "\n",
    "\r\n", " ", "\t", "#", "400", "-1", "\x00", "é", "<IfVersion >= 2.4>", "<IfFile x>",
    "self.conf"])


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.lists(TOKENS, max_size=60).map("".join), extra=st.text(max_size=40),
       mode=st.sampled_from([FILES, ROOT]))
def test_any_text_never_raises(tmp_path, text, extra, mode):
    root = tmp_path / mode
    conf = root / "etc/apache2/apache2.conf" if mode == ROOT else root / "self.conf"
    conf.parent.mkdir(parents=True, exist_ok=True)
    conf.write_text(text + extra, errors="surrogateescape")
    host = Host("fuzz", mode, root if mode == ROOT else None)
    if mode == FILES:
        source = host.read(conf, READER)
        host.docs["apache"] = [parse_file(source)] if source else []
    for server in servers(host):  # every example rewrites the same file
        if server.error is not None and server.error.line is not None:
            # a continued last line counts one more, as httpd counts it
            assert 1 <= server.error.line <= len(server.error.source.lines) + 1, server.error
        for rule in (check_httpd002, check_httpd003):
            list(rule(host))


def test_sniffer_is_its_hint_case_insensitive_by_directive():
    """looks_like_apache compiles the registration's hint: directive names in any case,
    followed by a blank (or '>' for a section), at the start of a line."""
    for head in ("  maxrequestworkers 10\n", "# x\n<IFMODULE mpm_event_module>\n",
                 "\tLoadModule php_module x.so\n", "<Directory>\n"):
        assert looks_like_apache(head), head
    for head in ("ServerRootx /x\n", "# LoadModule x y\n", "server {\n", "[www]\npm = 5\n"):
        assert not looks_like_apache(head), head


def _built(host) -> list[tuple]:
    """What a repository's servers are, in values: MPM and why, modules in order, the
    directives read, the limits and the error."""
    return [(s.mpm and s.mpm.name, s.mpm_source, list(s.config.modules.items()),
             [(d.name, d.args, d.line, d.sections) for d in s.config.directives],
             s.limits and sorted(s.limits.settings.items()),
             s.error and (s.error.rule, s.error.source.display, s.error.line, s.error.message))
            for s in servers(host)]


MPM_TOKENS = st.sampled_from([
    "<IfModule mpm_event_module>\n", "<IfModule event.c>\n", "<IfModule !mpm_prefork_module>\n",
    "<IfModule worker.c>\n", "<IfModule mod_php.c>\n", "</IfModule>\n", "<IfDefine X>\n",
    "</IfDefine>\n", "Define X\n", "MaxRequestWorkers 5\n", "ServerLimit 2\n",
    "ThreadsPerChild 9\n", "StartServers 3\n", "LoadModule php_module x.so\n", "# c\n",
    "Include other.conf\n"])


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=st.lists(MPM_TOKENS, max_size=14).map("".join),
       other=st.lists(MPM_TOKENS, max_size=6).map("".join))
def test_an_assumed_mpm_reads_as_a_second_read_with_it_loaded(tmp_path, text, other):
    """A repository file that loads no MPM is read again with the assumed one loaded only
    when its <IfModule>s ask about that MPM; else the first read stands. Both give what
    reading it again always gave."""
    _tree(tmp_path, {"apache2.conf": text, "other.conf": other})

    def host():
        repo = Host("repo", FILES, None)
        repo.docs["apache"] = [parse_file(repo.read(tmp_path / "apache2.conf", READER))]
        return repo
    shortcut = _built(host())
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(apache_servers, "_assuming", lambda config, module, build: build())
        assert _built(host()) == shortcut
