"""The jvm.options Elasticsearch 8.13's and OpenSearch 2.x's packages install
(fixtures/stock: no Debian package ships either, so these are upstream's
distribution/src/config/jvm.options as their .deb installs them under /etc) on a 4 GiB
host: nothing above low, and both nodes in the ledger."""
from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from pathlib import Path

from oomaudit.cli import main

STOCK = Path(__file__).parent / "fixtures" / "stock"
GiB, MiB = 1 << 30, 1 << 20


def audit(*args) -> dict:
    out = io.StringIO()
    with redirect_stdout(out):
        main([*map(str, args), "--format", "json"])
    return json.loads(out.getvalue())


def test_a_stock_install_on_4_gib_gives_nothing_above_low():
    report = audit("scan", "--root", STOCK, "--ram", "4G", "--swap", "0")
    assert report["errors"] == []
    assert [f["rule"] for f in report["findings"]
            if f["severity"] not in ("info", "low")] == []
    assert [f["rule"] for f in report["findings"] if f["rule"].startswith("ES")] == []


def test_a_stock_install_in_the_ledger():
    report = audit("budget", "--root", STOCK, "--ram", "4G")
    entries = {c["service"]: c for c in report["hosts"][0]["consumers"]}
    # Elasticsearch: no -Xms/-Xmx, so its automatic heap (half of 4 GiB) + 512 MiB
    assert entries["elasticsearch"]["bytes"] == 2 * GiB + 512 * MiB
    assert "automatic heap" in entries["elasticsearch"]["how"]
    # OpenSearch ships -Xms1g -Xmx1g
    assert entries["opensearch"]["bytes"] == GiB + 256 * MiB
    assert entries["opensearch"]["source"].endswith("etc/opensearch/jvm.options:23")
