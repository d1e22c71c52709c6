"""PG001-PG002: PostgreSQL's memory settings against the host's RAM.

Each cluster is its main postgresql.conf with everything the server reads after it
(includes, conf.d, the data directory's postgresql.auto.conf), evaluated by
``oomaudit.parsers.pgconf`` as the server would. On a live host the running postmasters
say which file they really use (``-D``, ``config_file=``) and how much they hold (RSS).

This module only registers (it is what the entry point names, and every run imports
it); the checks live in ``postgresql_checks``, imported when there is work.
"""
from __future__ import annotations

from oomaudit import Reader, hookimpl
from oomaudit.catalogue import make_rules

PLUGIN = "postgresql"
CHECKS = "oomaudit.plugins.postgresql_checks"

# A module constant, not built in the hook: postgresql_checks reads includes and the
# live postmasters' files with this very reader.
READER = Reader(
    name=PLUGIN, parse=f"{CHECKS}:PgFile",
    system_paths=("/etc/postgresql/*/*/postgresql.conf", "/var/lib/pgsql/data/postgresql.conf",
                  "/var/lib/pgsql/*/data/postgresql.conf"),
    file_patterns=("postgresql*.conf", "*postgresql.conf", "*postgresql.auto.conf"),
    sniff="oomaudit.parsers.pgconf:looks_like_postgresql",
    # the sniffer's first test: the stock header or a name of pgconf._PG_NAMES, anywhere
    # and in any case (written out here; tests/test_pg_parser.py checks they agree)
    sniff_hint=r"(?i:postgresql configuration file|shared_buffers|work_mem|"
               r"effective_cache_size|wal_buffers|hash_mem_multiplier|temp_buffers|"
               r"listen_addresses|hba_file|ident_file|data_directory|unix_socket_directories|"
               r"max_wal_size|min_wal_size|checkpoint_completion_target|random_page_cost|"
               r"effective_io_concurrency|default_statistics_target|log_line_prefix|wal_level|"
               r"max_wal_senders|synchronous_commit|shared_preload_libraries|datestyle|"
               r"lc_messages|lc_monetary|default_text_search_config|autovacuum_max_workers|"
               r"dynamic_shared_memory_type|cluster_name|huge_pages|max_worker_processes|"
               r"max_parallel_workers_per_gather|include_dir|password_encryption)")


@hookimpl
def oomaudit_readers():
    return [READER]


@hookimpl
def oomaudit_collect(host):
    from . import postgresql_checks

    postgresql_checks.collect(host)


@hookimpl
def oomaudit_budget(host):
    # Clusters are the postgresql documents only (collect has added the live ones by now):
    # without one there is nothing to add, whatever the mode.
    if not host.documents(PLUGIN):
        return
    from . import postgresql_checks

    postgresql_checks.budget(host)


@hookimpl
def oomaudit_rules():
    # Both rules judge clusters(), which are the postgresql documents: none, no finding.
    return make_rules({"PG001": f"{CHECKS}:check_pg001", "PG002": f"{CHECKS}:check_pg002"},
                      "postgresql.toml", reads=(PLUGIN,))
