"""What the PostgreSQL plugin's registration and its code both need: the plugin's name
and the postgresql.conf reader.

The registration (``__init__``) and every code module import these from here, so that
imports run one way: the code modules never import the registration.
"""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "postgresql"

# A module constant, not built in the hook: the clusters and the live postmasters' files
# are read (includes too) with this very reader.
READER = Reader(
    name=PLUGIN, parse="oomaudit.plugins.postgresql.clusters:PgFile",
    system_paths=("/etc/postgresql/*/*/postgresql.conf", "/var/lib/pgsql/data/postgresql.conf",
                  "/var/lib/pgsql/*/data/postgresql.conf"),
    file_patterns=("postgresql*.conf", "*postgresql.conf", "*postgresql.auto.conf"),
    sniff="oomaudit.parsers.pgconf:looks_like_postgresql",
    # the sniffer accepts a file with a statement naming one of pgconf._PG_NAMES (any case;
    # a statement starts its line, after the lexer's blanks) or with the stock header
    # (written out here; tests/postgresql/test_pg_parser.py checks they agree). The names are
    # anchored at line starts; the header, found anywhere as the sniffer finds it, is
    # spelt in ASCII letter classes, which re scans for their first letter (as (?i:...) it
    # cost a test at every character: half of every file head's joined hint search)
    sniff_hint=r"^[ \t\r\f]*(?i:"
               r"autovacuum_max_workers|autovacuum_work_mem|checkpoint_completion_target|"
               r"cluster_name|data_directory|datestyle|default_statistics_target|"
               r"default_text_search_config|dynamic_shared_memory_type|"
               r"effective_cache_size|effective_io_concurrency|hash_mem_multiplier|"
               r"hba_file|huge_pages|ident_file|include_dir|lc_messages|lc_monetary|"
               r"listen_addresses|log_line_prefix|maintenance_work_mem|"
               r"max_parallel_workers_per_gather|max_wal_senders|max_wal_size|"
               r"max_worker_processes|min_wal_size|password_encryption|random_page_cost|"
               r"shared_buffers|shared_preload_libraries|synchronous_commit|temp_buffers|"
               r"unix_socket_directories|wal_buffers|wal_level|work_mem"
               r")"
               r"|[Pp][Oo][Ss][Tt][Gg][Rr][Ee][Ss][Qq][Ll] [Cc][Oo][Nn][Ff][Ii][Gg][Uu][Rr]"
               r"[Aa][Tt][Ii][Oo][Nn] [Ff][Ii][Ll][Ee]")
