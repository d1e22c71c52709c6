"""Kubernetes: quantities as apimachinery parses them, CKV_K8S_13's kinds and container
lists, LimitRange defaults, annotations, and the service inside against its limit."""
from __future__ import annotations

import json

import pytest
from container_helpers import FIXTURES, findings, hits

from oomaudit.parsers import kube
from oomaudit.parsers.quantity import QuantityError, parse, to_bytes
from oomaudit.parsers.yamltree import load_all

K8S = FIXTURES / "k8s"


@pytest.mark.parametrize("text, expected", [
    ("512Mi", 512 << 20), ("1G", 10 ** 9), ("1e9", 10 ** 9), ("500M", 5 * 10 ** 8),
    ("0.5Gi", 1 << 29), ("1000m", 1), ("1E", 10 ** 18), ("12e6", 12 * 10 ** 6), ("0", 0),
    ("1.5Gi", 3 << 29), ("1Ki", 1024), ("1k", 1000), ("+1k", 1000), ("1.", 1), (".5Ki", 512),
    ("1e+3", 1000), ("1E3", 1000), ("100u", 1), ("1500m", 2), ("0.9n", 1), (".", 0),
    ("8Ei", (1 << 63) - 1), ("000123", 123), ("Mi", 0),  # Go: no digits is a zero
])
def test_quantity_bytes(text, expected):
    assert to_bytes(text) == expected


def test_quantity_keeps_exact_fractions():
    assert parse("1500m") * 2 == 3 and parse("0.9n") * 10 ** 9 == 1


@pytest.mark.parametrize("text", ["", "1ki", "1KiB", "1e", "1.5.5", "1 Gi", "1Gi ",
                                  "0x10", "1k3", "1e1.5", "--1"])
def test_quantity_errors(text):
    with pytest.raises(QuantityError):
        parse(text)


def test_done_when_multi_document_workloads(oomaudit):
    found = findings(oomaudit, "workloads.yaml", cwd=K8S)
    assert hits(found) == {("CONTAINER002", "workloads.yaml", 12),
                           ("CONTAINER002", "workloads.yaml", 34),
                           ("CONTAINER002", "workloads.yaml", 44)}


def test_every_checkov_kind_and_list_is_read(oomaudit):
    found = findings(oomaudit, "kinds.yaml", cwd=K8S)
    workloads = sorted(f["message"].split(" of ")[1].split(" ")[0] for f in found)
    assert workloads == sorted(["StatefulSet/sts", "DaemonSet/ds", "ReplicaSet/rs",
                                "ReplicationController/rc", "Job/job", "DeploymentConfig/dc",
                                "PodTemplate/pt", "Pod/listed"])  # not Service, Prometheus


def checkov_fails(container: dict) -> bool:
    """CKV_K8S_13's scan_container_conf, as its source reads (MemoryLimits.py)."""
    res = container.get("resources")
    if res:
        if not isinstance(res, dict):
            return False  # UNKNOWN
        limits = res.get("limits")
        if limits and limits.get("memory"):
            return False
    return True


def checkov_containers(obj: dict) -> list[dict]:
    """BaseK8sContainerCheck.scan_spec_conf's spec per kind, on plain dicts (PyYAML)."""
    kind = obj.get("kind")
    try:
        if kind == "Pod":
            spec = obj["spec"]
        elif kind == "PodTemplate":
            spec = obj["template"]["spec"]
        elif kind in ("Deployment", "DeploymentConfig", "DaemonSet", "Job", "ReplicaSet",
                      "ReplicationController", "StatefulSet"):
            spec = obj["spec"]["template"]["spec"]
        elif kind == "CronJob":
            spec = obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        else:
            return []
    except (KeyError, TypeError):
        return []
    return [c for key in ("containers", "initContainers", "ephemeralContainers")
            for c in (spec.get(key) or [])]


@pytest.mark.parametrize("name", ["workloads.yaml", "kinds.yaml", "quantities.yaml",
                                  "services.yaml", "limitrange.yaml"])
def test_verdicts_agree_with_checkov_semantics(name):
    """Without LimitRange defaults and zero limits (where we follow Kubernetes), our
    'no limit' verdicts are checkov's CKV_K8S_13 FAILED, container by container."""
    import yaml

    text = (K8S / name).read_text()
    theirs = []
    for doc in yaml.safe_load_all(text):
        for obj in (doc.get("items", []) if doc and doc.get("kind") == "List" else [doc]):
            theirs += [checkov_fails(c) for c in checkov_containers(obj or {})]
    ours = [c.limit is None for doc in load_all(text) for c in kube.containers(doc.root)]
    assert ours == theirs


def test_quantities_fixture_all_limited(oomaudit):
    assert hits(findings(oomaudit, "quantities.yaml", cwd=K8S)) == set()
    text = (K8S / "quantities.yaml").read_text()
    limits = {c.name: c.limit.bytes for doc in load_all(text) for c in kube.containers(doc.root)}
    assert limits == {"mi": 512 << 20, "g": 10 ** 9, "exp": 10 ** 9, "m": 5 * 10 ** 8,
                      "half": 1 << 29, "milli": 1, "exa": 10 ** 18, "e6": 12 * 10 ** 6,
                      "int": 1 << 28}


def test_limit_range_default_applies_in_its_namespace(oomaudit):
    assert hits(findings(oomaudit, "limitrange.yaml", cwd=K8S)) == \
        {("CONTAINER002", "limitrange.yaml", 24)}


def test_services_inside_against_limits(oomaudit):
    found = findings(oomaudit, "services.yaml", cwd=K8S)
    assert hits(found) == {
        ("CONTAINER003", "services.yaml", 13),  # mysql pool 2G > 1Gi
        ("CONTAINER003", "services.yaml", 30),  # JAVA_TOOL_OPTIONS -Xmx3g > 2Gi
        ("CONTAINER003", "services.yaml", 35),  # redis --maxmemory 600mb > 512Mi
        ("CONTAINER003", "services.yaml", 37),  # request 1Gi > limit 512Mi
    }  # pg 256MB fits 1Gi; Deployment/quiet is annotated oomaudit.io/ignore


def test_zero_limit_invalid_quantity_and_suppression(oomaudit, tmp_path):
    (tmp_path / "pod.yaml").write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n"
        "    - name: zero\n      resources: {limits: {memory: '0'}}\n"
        "    - name: bad\n      resources: {limits: {memory: 2gi}}\n"
        "    # oomaudit: ignore[CONTAINER002] sized by the VPA\n"
        "    - name: skipped\n")
    found = findings(oomaudit, "pod.yaml", cwd=tmp_path)
    assert hits(found, "C") == {("CONTAINER002", "pod.yaml", 6), ("CONF001", "pod.yaml", 9)}


def test_realworld_kubernetes(oomaudit):
    from conftest import need_shared
    found = findings(oomaudit, need_shared("realworld", "kubernetes"))
    flagged = {(f["path"].rsplit("/", 1)[-1], f["line"]) for f in found
               if f["rule"] == "CONTAINER002"}
    assert ("GoogleCloudPlatform__microservices-demo__release__kubernetes-manifests.yaml",
            468) in flagged  # the loadgenerator's init container (its "- command:" line)
    assert not any("cassandra" in path for path, _ in flagged)  # limited at 1Gi
    bad = {f["line"] for f in found if f["rule"] == "CONF001" and "deployment.yaml" in f["path"]}
    assert bad == {421, 424}  # memory: 128mi / 2gi: the API server rejects both


def test_cli_json_names_kubernetes_reader(oomaudit):
    proc = oomaudit("check", "--ram", "8G", "--format", "json", str(K8S / "workloads.yaml"))
    assert json.loads(proc.stdout)["summary"]
