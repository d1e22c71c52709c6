"""What the Elasticsearch plugin's registration and its code modules both need: the
plugin's name, the ledger's services and the jvm.options reader. Imports nothing of the
code modules."""
from __future__ import annotations

from oomaudit.plugins.containers.constants import COMPOSE  # noqa: F401  (for __init__)

from oomaudit import Reader

PLUGIN = "elasticsearch"
PACKAGE = "oomaudit.plugins.elasticsearch"
ELASTICSEARCH, OPENSEARCH = "elasticsearch", "opensearch"  # the ledger's services

READER = Reader(
    name="jvm-options", parse="oomaudit.parsers.jvmoptions:parse",
    # the Debian/RPM packages' config folders (ES_PATH_CONF)
    system_paths=("/etc/elasticsearch/jvm.options", "/etc/elasticsearch/jvm.options.d/*.options",
                  "/etc/opensearch/jvm.options", "/etc/opensearch/jvm.options.d/*.options"),
    file_patterns=("jvm.options", "*/jvm.options.d/*.options"),
    expands=("${",))  # its launcher fills ${ES_TMPDIR} (JvmOptionsParser)
