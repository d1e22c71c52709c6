"""Option values as mysqld evaluates them: names, sizes, limits and defaults per flavour.

The server turns ``--name=value`` into a number in my_getopt: the name may be a
``loose-`` one, use dashes or underscores, any case, or (MariaDB, MySQL 5.7) an
unambiguous prefix; the value is a decimal integer (strtoull) and one suffix
letter K M G T P E (powers of 1024) of which only the *first* character counts
(``4GB`` is 4G, ``2M3`` is 2M). Then min/max clamp and block alignment apply
(getopt_ull_limit_value). Errors and warnings below use the server's own words.

MariaDB 10.11 numbers were measured with ``mariadbd --verbose --help`` (the
differential tests keep them honest); MariaDB 11.x is assumed equal for these
variables. MySQL numbers come from the MySQL 5.7/8.0 reference manuals and
mysys/my_getopt.cc; MySQL is not in Debian, so nothing here could run it.

One concern over 300 lines: how mysqld reads one option's name and value; the names, the
tables and the arithmetic answer one question together and are tested together.
"""
from __future__ import annotations

import re
from functools import cache, lru_cache
from typing import NamedTuple

from ..cnumbers import digits as c_digits
from .mariadb_options import MARIADB_10_11

U64 = (1 << 64) - 1
SUFFIXES = {"": 0, "k": 10, "m": 20, "g": 30, "t": 40, "p": 50, "e": 60}
C_SPACE = " \t\n\v\f\r"  # strtoull's isspace() in the C locale


class Flavour(NamedTuple):
    """The server in effect and where we learnt it (``live: mariadbd``, ``[mysqld-8.0]
    group in my.cnf:3``, ``assumed``)."""

    name: str  # "MariaDB" or "MySQL"
    version: tuple[int, int]
    source: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} {self.version[0]}.{self.version[1]}"

    @property
    def mariadb(self) -> bool:
        return self.name == "MariaDB"

    def groups(self) -> set[str]:
        """The option-file groups this server reads (lower case)."""
        ver = f"{self.version[0]}.{self.version[1]}"
        names = {"mysqld", "server", f"mysqld-{ver}"}
        if self.mariadb:
            names |= {"mariadb", f"mariadb-{ver}", "mariadbd", f"mariadbd-{ver}",
                      "client-server", "galera"}
        return names


DEFAULT_FLAVOUR = Flavour("MariaDB", (10, 11), "assumed: Debian 12's MariaDB 10.11 "
                                               "(no server version found)")


class Var(NamedTuple):
    """One numeric server variable: default, limits and alignment as my_getopt applies them.
    ``label`` is the name the server prints in its messages (plugin options use dashes)."""

    default: int
    minimum: int
    maximum: int
    block: int = 1
    label: str = ""
    plugin: str = ""  # MariaDB: a bad value disables this plugin instead of stopping mysqld


def _table(rows: dict[str, tuple]) -> dict[str, Var]:
    return {name: Var(*row) for name, row in rows.items()}


MARIADB = _table({  # measured: mariadbd 10.11.19 --verbose --help, values 0, 7000, 2^64-1
    "innodb_buffer_pool_size": (128 << 20, 2 << 20, 18446744073701163008, 1 << 20,
                                "innodb-buffer-pool-size", "InnoDB"),
    "innodb_log_buffer_size": (16 << 20, 2 << 20, 2147479552, 4096, "innodb-log-buffer-size",
                               "InnoDB"),
    "aria_pagecache_buffer_size": (128 << 20, 128 << 10, U64, 1,
                                   "aria-pagecache-buffer-size", "Aria"),
    "key_buffer_size": (128 << 20, 0, U64, 4096),
    "query_cache_size": (1 << 20, 0, U64, 1024),
    "tmp_table_size": (16 << 20, 0, U64, 16384),
    "max_heap_table_size": (16 << 20, 16384, U64, 1024),
    "read_buffer_size": (128 << 10, 8192, 2147479552, 4096),
    "read_rnd_buffer_size": (256 << 10, 1, 2147483647, 1),
    "sort_buffer_size": (2 << 20, 1024, U64, 1),
    "thread_stack": (299008, 128 << 10, U64, 1024),
    "join_buffer_size": (256 << 10, 128, U64, 128),
    "binlog_cache_size": (32 << 10, 4096, U64, 4096),
    "net_buffer_length": (16 << 10, 1024, 1 << 20, 1024),
    "max_allowed_packet": (16 << 20, 1024, 1 << 30, 1024),
    "max_connections": (151, 10, 100000, 1),
})

MYSQL80 = _table({  # MySQL 8.0 reference manual, server system variables
    "innodb_buffer_pool_size": (128 << 20, 5 << 20, U64, 1, "innodb_buffer_pool_size"),
    "innodb_log_buffer_size": (16 << 20, 256 << 10, 4294967295, 1024),
    "key_buffer_size": (8 << 20, 0, U64, 4096),
    "tmp_table_size": (16 << 20, 1024, U64, 1),
    "max_heap_table_size": (16 << 20, 16384, U64, 1024),
    "temptable_max_ram": (1 << 30, 2 << 20, U64, 1),
    "read_buffer_size": (128 << 10, 8192, 2147479552, 4096),
    "read_rnd_buffer_size": (256 << 10, 1, 2147483647, 1),
    "sort_buffer_size": (256 << 10, 32768, U64, 1),
    "thread_stack": (1 << 20, 128 << 10, U64, 1024),
    "join_buffer_size": (256 << 10, 128, U64, 128),
    "binlog_cache_size": (32 << 10, 4096, U64, 4096),
    "net_buffer_length": (16 << 10, 1024, 1 << 20, 1024),
    "max_allowed_packet": (64 << 20, 1024, 1 << 30, 1024),
    "max_connections": (151, 1, 100000, 1),
})

MYSQL57 = {**{k: v for k, v in MYSQL80.items() if k != "temptable_max_ram"}, **_table({
    "innodb_log_buffer_size": (16 << 20, 1 << 20, 4294967295, 1024),
    "query_cache_size": (1 << 20, 0, U64, 1024),
    "thread_stack": (256 << 10, 128 << 10, U64, 1024),
    "max_allowed_packet": (4 << 20, 1024, 1 << 30, 1024),
})}


def variables(flavour: Flavour) -> dict[str, Var]:
    if flavour.mariadb:
        return MARIADB
    return MYSQL80 if flavour.version >= (8, 0) else MYSQL57


class Value(NamedTuple):
    """A value as the server ends up with it: ``number`` (None when rejected), the server's
    error or warning (it clamped), and ``ignored`` trailing characters it silently dropped
    (``B`` of ``4GB``). After an error ``disables`` names the plugin MariaDB switches off
    instead of stopping, and ``loose`` says the server only logged it and carried on."""

    number: int | None
    error: str = ""
    warning: str = ""
    ignored: str = ""
    disables: str = ""
    loose: bool = False

    @property
    def fatal(self) -> bool:
        return bool(self.error) and not self.disables and not self.loose

    @property
    def consequence(self) -> str:
        if self.loose:
            return "mysqld logs the error and carries on (loose- prefix)"
        if self.disables:
            return f"MariaDB disables the {self.disables} plugin"
        return "mysqld does not start"


def evaluate(name: str, text: str | None, flavour: Flavour, loose: bool = False) -> Value:
    """Evaluate ``--name=text`` for the numeric variable ``name`` (canonical, underscores);
    ``loose`` when it was written ``loose-name``."""
    var = variables(flavour)[name]
    label = var.label or name
    text = "" if text is None else text
    if flavour.mariadb:
        number, error, rest = _mariadb_number(text, label)
    else:
        number, error, rest = _mysql_number(text, label, var)
    if error:
        return Value(None, error, disables="" if loose or not flavour.mariadb else var.plugin,
                     loose=loose)
    final, adjusted = _limit(number, var)
    warning = f"option '{label}': unsigned value {number} adjusted to {final}" if adjusted else ""
    if not flavour.mariadb and text.lstrip(C_SPACE).startswith("-"):
        warning = f"option '{label}': value {text} adjusted to {final}"
    return Value(final, "", warning, rest)


def _strtoull(text: str) -> tuple[int | None, int]:
    """C strtoull(text, &end, 10): (value or None on ERANGE, index of end)."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?)([0-9]+)", text)
    if not m:
        return 0, 0
    value = c_digits(m.group(2))
    if value > U64:
        return None, m.end()
    return (-value) & U64 if m.group(1) == "-" else value, m.end()


def _mariadb_number(text: str, label: str) -> tuple[int, str, str]:
    if text.startswith("-"):
        return 0, f"Incorrect unsigned value: '{text}' for {label}", ""
    number, end = _strtoull(text)
    if number is None:
        return 0, f"Integer value out of range for uint64: '{text}' for {label}", ""
    suffix = text[end:end + 1]
    if suffix.lower() not in SUFFIXES:
        return 0, (f"Unknown suffix '{suffix}' used for variable '{label}' (value '{text}'). "
                   "Legal suffix characters are: K, M, G, T, P, E"), ""
    # MariaDB multiplies in 64 bits and keeps what wraps around: 16E is 0
    return (number << SUFFIXES[suffix.lower()]) & U64, "", text[end + 1:]


def _mysql_number(text: str, label: str, var: Var) -> tuple[int, str, str]:
    if text.lstrip(C_SPACE).startswith("-"):  # getopt_ull: a warning and the minimum
        return var.minimum, "", ""
    number, end = _strtoull(text)
    if number is None:
        return 0, f"Incorrect unsigned integer value: '{text}'.", ""
    suffix = text[end:end + 1]
    if suffix.lower() not in SUFFIXES:
        return 0, (f"Unknown suffix '{suffix}' used for variable '{label}' "
                   f"(value '{text}')."), ""
    shifted = number << SUFFIXES[suffix.lower()]
    if shifted > U64:  # eval_num_suffix counts the bits lost in the shift
        return 0, f"Incorrect unsigned integer value: '{text}'.", ""
    return shifted, "", text[end + 1:]


def _limit(number: int, var: Var) -> tuple[int, bool]:
    """getopt_ull_limit_value: clamp to max, align down to the block, raise to min."""
    adjusted = False
    value = number
    if var.maximum and value > var.maximum:
        value, adjusted = var.maximum, True
    if var.block > 1:
        value = value // var.block * var.block
    if value < var.minimum:
        value = var.minimum
        adjusted = adjusted or number < var.minimum
    return value, adjusted


def canonical(name: str, flavour: Flavour) -> str | None:
    """The variable an option name sets, as ``key_buffer_size``; None when unknown or
    ambiguous. ``loose-`` goes, dashes are underscores, case does not matter; MariaDB and
    MySQL 5.7 accept an unambiguous prefix of any option (MySQL 8.0 removed that), so
    MariaDB's full option list decides what is unambiguous (for MySQL 5.7 too: its own
    list is not at hand). mariadbd matches its early options (max_connections and the
    performance_schema sizes) first, on their own: ``max_conn`` is max_connections there,
    although max_connect_errors shares the prefix."""
    norm = name.lower().replace("-", "_")
    if norm.startswith("loose_"):
        norm = norm[6:]
    names = _names(flavour.mariadb, flavour.version)
    if norm in names:
        return norm
    if norm and (flavour.mariadb or flavour.version < (8, 0)):
        return _prefixed(norm, names)
    return None


@lru_cache(maxsize=4096)  # a fleet's files repeat their options; hostile ones are bounded
def _prefixed(norm: str, names: frozenset[str]) -> str | None:
    """The one variable ``norm`` is a prefix of, early options first; None when none or
    several (a scan of every option name, so asked once per name)."""
    for group in _passes(names):
        matches = [n for n in group if n.startswith(norm)]
        if matches:
            return matches[0] if len(matches) == 1 else None
    return None


@cache
def _names(mariadb: bool, version: tuple[int, int]) -> frozenset[str]:
    table = variables(Flavour("MariaDB" if mariadb else "MySQL", version))
    return frozenset(n.replace("-", "_") for n in MARIADB_10_11) | frozenset(table)


@cache
def _passes(names: frozenset[str]) -> tuple[frozenset[str], frozenset[str]]:
    early = frozenset(n for n in names
                      if n == "max_connections" or n.startswith("performance_schema"))
    return early, names - early


class Setting(NamedTuple):
    """A numeric variable in effect: its value and the option that set it (None: the
    server's default)."""

    name: str
    value: Value
    option: object | None  # mycnf.Option


@lru_cache(maxsize=16)  # versions come from group names: a few per run
def _defaults(mariadb: bool, version: tuple[int, int]) -> dict[str, Setting]:
    """Every variable at the flavour's default (values: shared, never changed)."""
    table = variables(Flavour("MariaDB" if mariadb else "MySQL", version))
    return {name: Setting(name, Value(var.default), None) for name, var in table.items()}


def settings(options, flavour: Flavour) -> tuple[dict[str, Setting], list[Setting]]:
    """The numeric variables in effect (the last valid occurrence wins, unset ones take the
    flavour's default) and every occurrence as evaluated: mysqld evaluates each one in
    turn, so an invalid value aborts it even when a later line overrides it."""
    table = variables(flavour)
    effective = dict(_defaults(flavour.mariadb, flavour.version))
    occurrences = []
    for option in options:
        name = canonical(option.name, flavour)
        if name in table:
            loose = option.name.lower().startswith(("loose-", "loose_"))
            setting = Setting(name, evaluate(name, option.value, flavour, loose), option)
            occurrences.append(setting)
            if setting.value.number is not None:  # a rejected value is reported, not used
                effective[name] = setting
    return effective, occurrences
