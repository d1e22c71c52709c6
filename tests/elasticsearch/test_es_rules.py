"""ES001-ES002 fired and not fired, the nodes a tree has (jvm.options with its .d folder,
version-range lines, compose services) and what each puts in the memory ledger."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oomaudit.cli import main

FIXTURES = Path(__file__).parent / "fixtures"
GiB = 1 << 30


def audit(*args) -> tuple[int, dict]:
    """``oomaudit ARGS --format json`` in-process: (exit code, report)."""
    out = io.StringIO()
    with redirect_stdout(out):
        code = main([*map(str, args), "--format", "json"])
    return code, json.loads(out.getvalue())


def tree(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def rules_of(report: dict) -> list[str]:
    return [f["rule"] for f in report["findings"]]


def ledger(report: dict, service: str) -> list[dict]:
    """The service's entries in a ``budget`` report."""
    return [c for c in report["hosts"][0]["consumers"] if c["service"] == service]


def compose(opts: str, limit: str = "4g", image: str =
            "docker.elastic.co/elasticsearch/elasticsearch:8.13.0") -> str:
    env = f"      ES_JAVA_OPTS: \"{opts}\"\n" if opts else "      discovery.type: single-node\n"
    name = "OPENSEARCH_JAVA_OPTS" if "opensearch" in image else "ES_JAVA_OPTS"
    env = env.replace("ES_JAVA_OPTS", name)
    return (f"services:\n  es:\n    image: {image}\n    mem_limit: {limit}\n"
            f"    environment:\n{env}")


def test_a_4g_heap_under_a_4g_limit_is_es002_with_both_numbers():
    code, report = audit("check", FIXTURES / "compose-4g", "--select", "ES002")
    assert code == 1 and report["errors"] == []
    [finding] = report["findings"]
    assert finding["rule"] == "ES002" and finding["line"] == 2
    assert "5.0 GiB" in finding["message"] and "4.0 GiB" in finding["message"]
    shown = [e["what"] for e in finding["evidence"]]
    assert "-Xmx4g" in shown and "mem_limit: 4g = 4.0 GiB" in shown
    assert finding["evidence"][1]["source"].endswith("compose.yaml:6")
    assert 'ES_JAVA_OPTS: "-Xms3276m -Xmx3276m"' in finding["fix"]
    assert "mem_limit: 5120m" in finding["fix"]


def test_a_2g_heap_under_a_4g_limit_passes():
    assert audit("check", FIXTURES / "compose-2g", "--select", "ES002,CONTAINER003")[0] == 0


@pytest.mark.parametrize("opts, limit, image, fires", [
    ("", "4g", "elasticsearch:8.13.0", False),  # automatic: half the container's limit
    ("-Xmx3g", "4g", "elasticsearch:8.13.0", False),  # 3 GiB + 768 MiB
    ("-Xmx3500m", "4g", "elasticsearch:8.13.0", True),
    ("", "1g", "opensearchproject/opensearch:2.13.0", True),  # the image's 1 GiB heap
    ("-Xms512m -Xmx512m", "1g", "opensearchproject/opensearch:2", False),
    ("-Xmx4g", "4g", "nginx:1.25", False),  # not Elasticsearch
])
def test_compose_services_by_image_and_heap(tmp_path, opts, limit, image, fires):
    project = tree(tmp_path, {"compose.yaml": compose(opts, limit, image)})
    code, report = audit("check", project, "--select", "ES002")
    assert report["errors"] == []
    assert rules_of(report) == (["ES002"] if fires else [])


def test_es001_a_heap_above_half_the_ram(tmp_path):
    code, report = audit("check", FIXTURES / "es-big", "--ram", "8G", "--select", "ES001")
    [finding] = report["findings"]
    assert code == 1 and finding["rule"] == "ES001" and finding["severity"] == "low"
    assert [e["source"].rsplit("/", 1)[-1] for e in finding["evidence"][:2]] == [
        "heap.options:1", "heap.options:2"]
    assert "-Xmx4096m" in finding["fix"]
    # with 16 GiB of RAM, 6 GiB is under half
    assert audit("check", FIXTURES / "es-big", "--ram", "16G", "--select", "ES001")[0] == 0


def test_es001_without_ram_is_skipped_not_guessed():
    _, report = audit("check", FIXTURES / "es-big", "--select", "ES001")
    assert report["findings"] == [] and report["errors"] == []
    assert [(r["rule"], r["status"]) for r in report["rules"]] == [("ES001", "skipped")]


@pytest.mark.parametrize("files, heap", [
    # jvm.options.d files by name after jvm.options: "10-a" sorts before "2-b"
    ({"jvm.options": "-Xmx1g\n", "jvm.options.d/2-b.options": "-Xmx3g\n",
      "jvm.options.d/10-a.options": "-Xmx2g\n"}, 3 * GiB),
    # version ranges for the bundled JDK 21
    ({"jvm.options": "-Xmx1g\n17-:-Xmx2g\n8:-Xmx5g\n9-17:-Xmx6g\n"}, 2 * GiB),
    # no -Xms/-Xmx: Elasticsearch's automatic heap, half of 8 GiB
    ({"jvm.options": "-XX:+UseG1GC\n"}, 4 * GiB),
    # only -XX:MaxHeapSize: the automatic heap comes after it and wins
    ({"jvm.options": "-XX:MaxHeapSize=6g\n"}, 4 * GiB),
])
def test_the_heap_in_the_ledger(tmp_path, files, heap):
    root = tree(tmp_path, {f"etc/elasticsearch/{k}": v for k, v in files.items()})
    _, report = audit("budget", "--root", root, "--ram", "8G")
    [entry] = ledger(report, "elasticsearch")
    assert entry["bytes"] == heap + max(256 << 20, heap // 4)
    assert entry["plugin"] == "elasticsearch"


def test_opensearch_takes_the_jvm_default_without_xmx(tmp_path):
    root = tree(tmp_path, {"etc/opensearch/jvm.options": "-XX:+UseG1GC\n"})
    _, report = audit("budget", "--root", root, "--ram", "8G")
    [entry] = ledger(report, "opensearch")
    assert entry["bytes"] == 2 * GiB + (512 << 20)
    assert "JVM default" in entry["how"]


def test_a_line_the_launcher_refuses_is_conf001(tmp_path):
    conf = tree(tmp_path, {"jvm.options": "-Xms1g\n Xmx1g\n"}) / "jvm.options"
    code, report = audit("check", conf, "--select", "CONF001")
    assert code == 1 and [(f["rule"], f["line"]) for f in report["findings"]] == [
        ("CONF001", 2)]


def test_budget_shows_the_arithmetic(tmp_path):
    _, report = audit("budget", FIXTURES / "es-big", "--ram", "8G")
    [entry] = ledger(report, "elasticsearch")
    assert "-Xmx6g" in entry["how"] and "overhead 1.5 GiB" in entry["how"]
    assert entry["source"].endswith("heap.options:2")


def test_environment_as_a_list_is_read_too(tmp_path):
    project = tree(tmp_path, {"compose.yaml": (
        "services:\n  es:\n    image: elasticsearch:8.13.0\n    mem_limit: 4g\n"
        "    environment:\n      - ES_JAVA_OPTS=-Xms4g -Xmx4g\n")})
    assert rules_of(audit("check", project, "--select", "ES002")[1]) == ["ES002"]


OPTION_TEXT = st.text(st.sampled_from("-XmsxMaxHeapSize=RAMPercentage0123456789kmgt:.# \n"),
                      max_size=60)


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=OPTION_TEXT, opts=OPTION_TEXT)
def test_any_jvm_options_or_es_java_opts_give_findings_never_a_traceback(tmp_path, text, opts):
    root = tree(tmp_path, {"etc/elasticsearch/jvm.options": text, "srv/es/compose.yaml": (
        "services:\n  es:\n    image: elasticsearch:8\n    mem_limit: 2g\n"
        f"    environment:\n      ES_JAVA_OPTS: {json.dumps(opts)}\n")})
    code, report = audit("scan", "--root", root, "--ram", "4G", "--select", "ES,CONF")
    assert report["errors"] == [] and code in (0, 1)


UNIT = ("[Unit]\nDescription=Elasticsearch\n[Service]\nType=notify\n"
        "EnvironmentFile=-/etc/default/elasticsearch\n"
        "ExecStart=/usr/share/elasticsearch/bin/systemd-entrypoint -p ${PID_DIR}/es.pid\n"
        "[Install]\nWantedBy=multi-user.target\n")


@pytest.mark.parametrize("default, heap", [
    ('ES_PATH_CONF=/etc/elasticsearch\nES_JAVA_OPTS="-Xms6g -Xmx6g"\n', 6 * GiB),
    ('ES_JAVA_OPTS="-Xmx3g"\n', 3 * GiB),  # ES_PATH_CONF unset: /etc/elasticsearch
    ('ES_PATH_CONF=/srv/es\nES_JAVA_OPTS="-Xmx6g"\n', 2 * GiB),  # another node's
    ("", 2 * GiB),
])
def test_es_java_opts_of_the_unit_and_etc_default(tmp_path, default, heap):
    root = tree(tmp_path, {"etc/elasticsearch/jvm.options": "-Xms2g\n-Xmx2g\n",
                           "lib/systemd/system/elasticsearch.service": UNIT,
                           "etc/default/elasticsearch": default})
    _, report = audit("budget", "--root", root, "--ram", "16G")
    [entry] = ledger(report, "elasticsearch")
    assert entry["bytes"] == heap + max(256 << 20, heap // 4)
    if heap == 6 * GiB:
        assert entry["source"].endswith("etc/default/elasticsearch:2")


def test_a_jvm_options_a_compose_service_mounts_is_not_a_node_of_the_host(tmp_path):
    project = tree(tmp_path, {
        "compose.yaml": ("services:\n  es:\n    image: elasticsearch:8.13.0\n"
                         "    mem_limit: 8g\n    volumes:\n"
                         "      - ./jvm.options.d:/usr/share/elasticsearch/config/jvm.options.d\n"),
        "jvm.options.d/heap.options": "-Xms6g\n-Xmx6g\n"})
    code, report = audit("check", project, "--ram", "8G", "--select", "ES001,HOST002")
    assert rules_of(report) == [] and report["errors"] == []
    assert [c["service"] for c in report["hosts"][0]["ledger"]] == ["compose:es"]
