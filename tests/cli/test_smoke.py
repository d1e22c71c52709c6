"""The CLI starts, lists the built-in rules and audits this machine."""
import json


def test_version_and_rules(oomaudit):
    proc = oomaudit("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("oomaudit ")
    rules = json.loads(oomaudit("rules", "--format", "json").stdout)
    ids = {r["id"] for r in rules}
    assert {"CONF001", "CONF002", "CONF003", "HOST002"} <= ids
