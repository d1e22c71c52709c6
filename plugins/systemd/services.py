"""Which memory-ledger service a unit runs: by a binary its ExecStart runs (also behind
wrappers such as ``sh -c "exec mysqld"``), else by its name. One table, read both ways:
from a unit to the ledger's service (SYSTEMD007) and from a ledger service to the unit
names it runs as (SYSTEMD002's largest consumer, SYSTEMD005's proposed caps).

The ledger names are the plugins' shared convention ("mysql", "postgresql NAME", "redis",
"java", ...): a consumer belongs to a service when its name is the service or starts with
it and a space. ``compose:...`` and ``cgroup:...`` consumers never do: a container is not
the unit's service.
"""
from __future__ import annotations

import fnmatch

# (ledger service, unit-name globs, ExecStart binary globs); the first match wins, so an
# Elasticsearch unit whose ExecStart runs java is "elasticsearch" only by its name when
# the ledger has no "java" for it (services_of gives both, in order).
SERVICES = (
    ("mysql", ("mariadb", "mysql", "mysqld", "mariadb@*", "mysql@*", "mysqld@*"),
     ("mysqld", "mariadbd", "mysqld_safe", "mariadbd-safe")),
    ("postgresql", ("postgresql@*", "postgresql"), ("postgres", "postmaster", "pg_ctl",
                                                    "pg_ctlcluster")),
    ("php-fpm", ("php*-fpm", "php-fpm"), ("php-fpm*", "php*-fpm")),
    ("apache", ("apache2", "apache2@*", "httpd", "httpd@*"), ("apache2", "apachectl",
                                                              "apache2ctl", "httpd")),
    ("nginx", ("nginx",), ("nginx",)),
    ("redis", ("redis", "redis-server", "redis-server@*", "redis@*", "valkey", "valkey-server",
               "valkey-server@*", "valkey@*"), ("redis-server", "valkey-server")),
    ("memcached", ("memcached", "memcached@*"), ("memcached",)),
    ("mongodb", ("mongod", "mongodb", "mongod@*"), ("mongod",)),
    ("elasticsearch", ("elasticsearch", "elasticsearch@*"), ()),
    ("opensearch", ("opensearch", "opensearch@*"), ()),
    ("java", ("tomcat*", "kafka*", "jenkins", "cassandra", "solr"), ("java",)),
    ("node", (), ("node", "nodejs")),
)


def unit_patterns(service: str) -> tuple[str, ...]:
    """The unit names (without ``.service``) a ledger service runs as."""
    for name, globs, _ in SERVICES:
        if belongs(service, name):
            return globs
    return (service,)


def belongs(consumer: str, service: str) -> bool:
    """A ledger consumer's name is the service's ("postgresql 15/main" is "postgresql")."""
    return consumer == service or consumer.startswith(service + " ")


def services_of(unit) -> list[tuple[str, str]]:
    """(ledger service, why) for what the unit runs, the binary's first, then its name's."""
    found = []
    starts = unit.values("ExecStart")
    if starts:
        unit_file, a = starts[0]
        words = [w.strip("\"';").rsplit("/", 1)[-1] for w in a.value.lstrip("-@:+!").split()]
        for service, _, binaries in SERVICES:
            hit = next((w for w in words if any(fnmatch.fnmatchcase(w, g) for g in binaries)),
                       None)
            if hit:
                found.append((service, f"ExecStart runs {hit} ({unit_file.display}:{a.line})"))
                break
    for name in unit.names:
        stem = name.rsplit(".", 1)[0]
        for service, globs, _ in SERVICES:
            if any(fnmatch.fnmatchcase(stem, g) for g in globs) and \
                    all(service != s for s, _ in found):
                found.append((service, f"unit name {name}"))
    return found
