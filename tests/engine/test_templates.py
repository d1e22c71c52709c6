"""Templates are not configs (issue 14, item 1): a Helm chart, an Ansible role, a Puppet ERB
file, a FreeMarker and a Mustache template, each annotated with what a senior SRE expects
(``fixtures/templates``), through the real CLI; and the markers as each program reads them."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import need_shared
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit import templates
from oomaudit.engine import Registry
from oomaudit.manager import load_plugins
from oomaudit.model import Evidence, Finding
from oomaudit.reading import Source
from oomaudit.recognise import Recogniser

FIXTURES = Path(__file__).resolve().parent / "fixtures/templates"
SKIPPED = {  # file -> (the format it renders to, why it is a template)
    "ansible/roles/db/templates/my.cnf.j2": ("mysql", ".j2"),
    "freemarker/postgresql.conf.ftl": ("postgresql", ".ftl"),
    "helm/web/templates/deployment.yaml": ("kubernetes", "a Helm chart's templates/"),
    "helm/web/templates/job.yaml": ("kubernetes", "a Helm chart's templates/"),
    "mustache/cache.conf": ("redis", "{{#"),
    "puppet/modules/nginx/templates/nginx.conf.erb": ("nginx", ".erb"),
}


@pytest.fixture(scope="module")
def readers():
    return Registry.build(load_plugins(disable_third_party=True)).readers


def check(oomaudit, *args) -> dict:
    proc = oomaudit("check", *args, "--ram", "4G", "--format", "json", cwd=FIXTURES)
    assert proc.returncode in (0, 1) and proc.stderr == "", proc.stderr
    return json.loads(proc.stdout)


def test_a_repository_of_templates(oomaudit):
    report = check(oomaudit, ".")
    found = sorted((f["rule"], f["path"], f["line"]) for f in report["findings"] if f["path"])
    # only what is written and judged: FPM001 on the pool's own number; no CONF001 on a
    # placeholder, nothing from a chart, a .j2, an .erb, an .ftl or a Mustache file
    assert found == [("FPM001", "ansible/roles/php/templates/www.conf", 13)]
    skipped = [n for n in report["notices"] if n.startswith("skipped ")]
    assert len(skipped) == 1  # once for the run
    assert skipped[0].startswith("skipped 6 templates, not the configs they render to")
    for path, (fmt, why) in SKIPPED.items():
        assert f"{path} ({fmt}, {why})" in skipped[0]
    assert "values.yaml" not in skipped[0] and "Chart.yaml" not in skipped[0]
    assert "ansible/roles/php/templates/www.conf: templated, not judged: user (line 8), " \
           "listen (line 10)" in report["notices"]
    assert "ansible/roles/db/templates/my.cnf: templated, not judged: innodb_buffer_pool_size " \
           "(line 9), server_id (line 11); held back: MYSQL002, MYSQL003" in report["notices"]
    # the ledger counts that my.cnf with the server's default buffer pool: HOST002, which
    # sums it, says what it could not see
    host002 = next(f for f in report["findings"] if f["rule"] == "HOST002")
    assert {"what": "templated, not judged: innodb_buffer_pool_size (line 9), server_id "
                    "(line 11)", "source": "ansible/roles/db/templates/my.cnf"} \
        in host002["evidence"]


@pytest.mark.parametrize("path", sorted(SKIPPED))
def test_a_template_named_on_the_command_line(oomaudit, path):
    """pre-commit passes files one by one: each template is named as one, not 'not a config
    format', and nothing of it is judged."""
    report = check(oomaudit, path)
    assert report["findings"] == []
    fmt, why = SKIPPED[path]
    assert report["notices"] == [f"skipped 1 template, not the configs they render to "
                                 f"(render, then check the result): {path} ({fmt}, {why})"]


def test_a_templated_value_is_no_verdict(oomaudit):
    """innodb_buffer_pool_size = {{ ... }}: neither a CONF001/MYSQL003 on the placeholder nor
    MYSQL002 computed with the server's default buffer pool in its place."""
    report = check(oomaudit, "ansible/roles/db/templates/my.cnf", "--select", "CONF,MYSQL")
    assert report["findings"] == []


def _corpus(folder: str) -> list[Path]:
    return sorted(p for p in (need_shared("realworld") / folder).iterdir() if p.is_file())


def test_every_reader_refuses_a_template(readers):
    """Each real config that is recognised by its content stops being recognised once a
    {% if %} wraps it, whatever its format (every reader's, not only some sniffers'), and is
    named as a template of that format."""
    formats = set()
    for path in [p for p in need_shared("realworld").glob("*/*") if p.parent.name != "ansible"]:
        text = path.read_bytes().decode("utf-8", "replace")
        recognise = Recogniser(readers)
        reader = recognise.by_content(text.encode(), "x")
        if reader is None:
            continue
        formats.add(reader.name)
        wrapped = f"{{% if {reader.name}_enabled %}}\n{text}".encode()
        assert recognise.by_content(wrapped, "x") is None, path
        assert recognise.templates == {"x": (reader.name, "{%")}, path
    assert formats >= {"mysql", "postgresql", "php-fpm", "apache", "nginx", "fstab", "sysctl",
                       "systemd", "compose", "kubernetes"}


def test_the_corpus_ansible_templates_are_skipped_as_templates(readers):
    """The realworld Ansible templates, as a repository holds them: each named for Jinja,
    each skipped as a template of the format it renders to (before: sniffed and judged)."""
    recognise = Recogniser(readers)
    for path in _corpus("ansible"):
        assert recognise.by_content(path.read_bytes(), str(path)) is None, path
        assert recognise.templates[str(path)][1] == ".j2", path


def test_a_kernel_log_is_never_a_template(readers):
    """A log's lines are data: a process that wrote {{ into one does not make it a template."""
    log = sorted((need_shared("oom-logs")).glob("*.log"))[0].read_text(errors="replace")
    recognise = Recogniser(readers)
    reader = recognise.by_content(f"{{{{ {log}".encode(), "node1/kern.log.1.gz.txt")
    assert reader is not None and reader.name == "kernlog" and recognise.templates == {}


def _source(text: str, reader) -> Source:
    return Source(Path("f"), "f", text, reader=reader)


@pytest.mark.parametrize("reader,line", [
    ("apache", "User ${APACHE_RUN_USER}"),  # httpd's Define/environment
    ("php-fpm", "pm.max_children = ${FPM_CHILDREN}"),  # the INI scanner's environment
    ("compose", "    mem_limit: ${MEM:-512m}"),  # compose's interpolation
    ("compose", "      - NODE_ID={{.Node.ID}}"),  # swarm's own template
    ("nginx", "    return 200 ${scheme}://${host};"),  # nginx's variables
    ("kubernetes", '          args: ["sh", "-c", "echo ${HOSTNAME}"]'),  # the shell's
    ("mysql", "# innodb_buffer_pool_size = {{ bp }}"),  # a comment renders to nothing read
    ("postgresql", "log_line_prefix = '%m [%p] %%'"),  # a literal %, no %%NAME%%
])
def test_what_the_program_reads_itself_is_no_template(readers, reader, line):
    source = _source(f"{line}\n", readers[reader])
    assert templates.shaping(source.text, readers[reader]) == ""
    assert templates.fill(source, readers[reader]) == {} and source.text == f"{line}\n"


@pytest.mark.parametrize("reader,line,kind", [
    ("mysql", "innodb_buffer_pool_size = ${BP}", ""),  # mysqld never expands: envsubst's
    ("postgresql", "max_connections = %%PG_MAX_CONNECTIONS%%", ""),  # sed's
    ("redis", "maxmemory <%= @maxmemory %>", ""),  # ERB output
    ("mysql", "{{ option }} = 1", ""),  # a templated name, not a line of any lines
    ("systemd", "{% if limit %}", "{%"),
    ("nginx", "<% if @ssl -%>", "<%"),
    ("postgresql", "<#if big>", "<#"),
    ("kubernetes", "  {{- toYaml .Values.resources | nindent 12 }}",
     "{{- toYaml .Values.resources | nindent 12 }}"),  # a line that is only a placeholder
    ("sysctl", "{{ sysctl_extra }}", "{{ sysctl_extra }}"),  # may render to any lines
])
def test_template_markers(readers, reader, line, kind):
    assert templates.shaping(f"{line}\n", readers[reader]) == kind
    if not kind:
        source = _source(f"{line}\n", readers[reader])
        assert list(templates.fill(source, readers[reader])) == [1]
        assert templates.STAND_IN in source.text


@settings(deadline=None)
@given(st.text(alphabet="{}%<>#$=:-_ab\n\t'\"[]./=", max_size=300))
def test_any_text_keeps_its_lines(text):
    """Whatever a file holds, filling keeps every line where it was (findings' line numbers
    stay true) and never raises."""
    reader = Registry.build(load_plugins(disable_third_party=True)).readers["mysql"]
    templates.shaping(text, reader)
    source = _source(text, reader)
    templated = templates.fill(source, reader)
    assert source.text.count("\n") == text.count("\n")
    assert all(1 <= n <= text.count("\n") + 1 for n in templated)


def test_a_hostile_template_costs_linear_time_and_short_notices(readers, oomaudit, tmp_path):
    """20,000 templated settings and a 1 MB placeholder: read and held back at once, and the
    notice repeats no more than a few words of what the file holds."""
    lines = ["[mysqld]", "max_connections = 5000", f"{{{{ {'a' * 1_000_000} }}}} = 1"]
    lines += [f"k{n} = {{{{ v{n} }}}}" for n in range(20_000)]
    (tmp_path / "my.cnf").write_text("\n".join(lines) + "\n")
    proc = oomaudit("check", "my.cnf", "--ram", "1G", "--format", "json", cwd=tmp_path)
    report = json.loads(proc.stdout)
    (notice,) = [n for n in report["notices"] if "templated" in n]
    assert notice.startswith("my.cnf: templated, not judged: {{ aaaa")  # no name: its text
    assert f"{'a' * 56} (line 3), k0 (line 4)" in notice
    assert notice.endswith("and 19991 more") and len(notice) < 400
    # max_connections is written: MySQLTuner's sum is judged, and says what it could not see
    (mysql002,) = [f for f in report["findings"] if f["rule"] == "MYSQL002"]
    assert mysql002["evidence"][-1]["what"].startswith("templated, not judged: {{ aaaa")


_SHOWN = st.sampled_from(["my.cnf", "my.cnf:3", "a:b", "a:b:7", "c:", ":", "pool.conf"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_SHOWN, unique=True, max_size=5), st.one_of(st.none(), _SHOWN),
       st.lists(_SHOWN, max_size=4))
def test_a_kept_finding_names_each_templated_file_it_is_on_or_cites(shown, path, cited):
    """Once per templated file, in the files' order: the finding's own path, a source naming
    the file, or a source ``FILE:...`` (file names may hold colons)."""
    sources = {}
    for name in shown:
        sources[name] = Source(Path("/r") / name, name, "")
        sources[name].templated = {1: "innodb_buffer_pool_size"}
    sources.pop(path, None)  # a finding on a templated file may be held back: not here
    finding = Finding("MYSQL001", "m", path, None, [Evidence("x", c) for c in cited])
    (kept,) = templates.hold_back([finding], sources)
    named = [e.source for e in kept.evidence[len(cited):]]
    assert named == [s for s in sources if s == path or any(
        c == s or c.startswith(f"{s}:") for c in cited)]
    assert all(e.what.startswith("templated, not judged: innodb_buffer_pool_size (line 1)")
               for e in kept.evidence[len(cited):])
