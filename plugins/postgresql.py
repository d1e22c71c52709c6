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
from oomaudit.catalogue import checks_in, make_rules

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
    # the sniffer accepts a file with a statement naming one of pgconf._PG_NAMES (any case;
    # a statement starts its line, after the lexer's blanks) or with the stock header
    # (written out here; tests/test_pg_parser.py checks they agree). Anchored at line
    # starts, the search costs per line, not per character.
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
               r"|(?i:postgresql configuration file)")


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
    return make_rules(checks_in(CHECKS, "PG001", "PG002"), "postgresql.toml", reads=(PLUGIN,))
