"""What the MongoDB plugin's registration and its code modules both need: the plugin's and
the ledger's name and the mongod.conf reader. Imports nothing of the code modules."""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "mongodb"
SERVICE = "mongodb"  # the memory ledger's service
PACKAGE = "oomaudit.plugins.mongodb"

READER = Reader(
    name=PLUGIN, parse="oomaudit.parsers.mongodconf:parse",
    # the mongodb-org packages' mongod.service reads /etc/mongod.conf
    system_paths=("/etc/mongod.conf",),
    file_patterns=("mongod.conf", "mongod-*.conf"))
