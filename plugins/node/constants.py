"""What the Node plugin's registration and its code modules both need: the plugin's and
the ledger's name. Imports nothing of the code modules (nor of the systemd plugin's)."""
from __future__ import annotations

PLUGIN = "node"
SERVICE = "node"  # the memory ledger's service for a Node process (the unit in its source)
PACKAGE = "oomaudit.plugins.node"
SYSTEMD = "systemd"  # the reader whose units start the Node processes
CACHE = "node.starts"  # host.cache key of the host's Node starts
