"""What the JVM plugin's registration and its code modules both need: the plugin's and
the ledger's name. Imports nothing of the code modules (nor of the systemd plugin's)."""
from __future__ import annotations

PLUGIN = "jvm"
SERVICE = "java"  # the memory ledger's service for a JVM (the unit is in its source)
PACKAGE = "oomaudit.plugins.jvm"
SYSTEMD = "systemd"  # the reader whose units start the JVMs
CACHE = "jvm.starts"  # host.cache key of the host's JVM starts
SIZED = "jvm.sized"  # ... and of each one's heap and ledger entry
