"""PHP-FPM's configuration as ``php-fpm -tt`` reads it: ``[global]`` and pool sections,
``include=`` globs, values checked as fpm_conf.c checks them, and the post-processing
php-fpm does before it starts (missing ``pm``, ``pm.max_children`` <= 0, spare-server
ranges), each failure a CONF001 finding in php-fpm's own words.

Quirks matched (measured with php-fpm8.2 -tt): each line is parsed on its own by the
Zend INI parser (``zendini``); a section that appears twice is one pool (names compare
case-insensitively), the last value wins; ``global`` is any case; a relative ``include``
is relative to the prefix (``/usr`` unless ``-p``), not the including file; a pattern
that matches nothing is only a warning, a missing directory is an error; includes nest at
most 5 files deep; a key before any section of an included file belongs to the section
in force where the include was written, and the section an included file ends in stays
in force after it; ``$pool`` in a value is the pool's name.

Over 300 lines, and one concern: fpm_conf.c's reading of a configuration, from the files
its includes name to the values it checks and the pools it would start with (the line
syntax is ``zendini``'s).
"""
from __future__ import annotations

import glob
import os
import posixpath
import re
from collections.abc import Mapping
from typing import NamedTuple

from ..cnumbers import digits as c_digits
from ..includes import IncludeBudget
from ..record import Record
from .zendini import IniSyntaxError, parse_line, statement_lines

MAX_DEPTH = 5  # "failed to include more than 5 files recursively"
DEFAULT_PREFIX = "/usr"  # PHP_PREFIX of Debian's and RHEL's builds

INTEGER, TIME, BOOLEAN, PM, TEXT = "integer", "time", "boolean", "pm", "text"
GLOBAL_OPTIONS = {
    "pid": TEXT, "error_log": TEXT, "syslog.ident": TEXT, "syslog.facility": TEXT,
    "log_buffering": BOOLEAN, "log_level": TEXT, "log_limit": INTEGER,
    "emergency_restart_interval": TIME, "emergency_restart_threshold": INTEGER,
    "process_control_timeout": TIME, "process.max": INTEGER, "process.priority": INTEGER,
    "daemonize": BOOLEAN, "rlimit_files": INTEGER, "rlimit_core": TEXT,
    "events.mechanism": TEXT, "systemd_interval": TIME,
}
POOL_OPTIONS = {
    "prefix": TEXT, "user": TEXT, "group": TEXT, "listen": TEXT, "listen.backlog": INTEGER,
    "listen.acl_users": TEXT, "listen.acl_groups": TEXT, "listen.owner": TEXT,
    "listen.group": TEXT, "listen.mode": TEXT, "listen.allowed_clients": TEXT,
    "listen.setfib": INTEGER, "process.priority": INTEGER, "process.dumpable": BOOLEAN,
    "pm": PM, "pm.max_children": INTEGER, "pm.start_servers": INTEGER,
    "pm.min_spare_servers": INTEGER, "pm.max_spare_servers": INTEGER,
    "pm.max_spawn_rate": INTEGER, "pm.process_idle_timeout": TIME,
    "pm.max_requests": INTEGER, "pm.status_path": TEXT, "pm.status_listen": TEXT,
    "ping.path": TEXT, "ping.response": TEXT, "access.log": TEXT, "access.format": TEXT,
    "access.suppress_path": TEXT, "slowlog": TEXT, "request_slowlog_timeout": TIME,
    "request_slowlog_trace_depth": INTEGER, "request_terminate_timeout": TIME,
    "request_terminate_timeout_track_finished": BOOLEAN, "rlimit_files": INTEGER,
    "rlimit_core": TEXT, "chroot": TEXT, "chdir": TEXT, "catch_workers_output": BOOLEAN,
    "decorate_workers_output": BOOLEAN, "clear_env": BOOLEAN,
    "security.limit_extensions": TEXT, "apparmor_hat": TEXT,
}
ARRAYS = ("env", "php_value", "php_admin_value", "php_flag", "php_admin_flag")
# fpm_conf.c's defaults for the values the rules use
POOL_DEFAULTS = {"pm.max_children": 0, "pm.start_servers": 0, "pm.min_spare_servers": 0,
                 "pm.max_spare_servers": 0, "pm.max_spawn_rate": 32,
                 "pm.process_idle_timeout": 10, "pm.max_requests": 0}


class Setting(NamedTuple):
    """A value as php-fpm stores it, with where it was written."""

    name: str
    text: str  # after ${VAR}, $pool is expanded later (pool.text)
    value: object  # int for integers and times, the pm style, else the text
    source: object  # oomaudit Source
    line: int
    env: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        return f"{self.source.display}:{self.line}"


class Pool(Record):
    """One pool: every section of that name (any case) merged, the last value winning; ``line``
    is its first header. ``php_values`` holds the ``php_value``/``php_flag`` lines,
    ``php_admin_values`` the admin ones, as (key, setting)."""

    def __init__(self, name: str, source: object, line: int,
                 settings: dict[str, Setting] | None = None,
                 php_values: list[tuple[str, Setting]] | None = None,
                 php_admin_values: list[tuple[str, Setting]] | None = None):
        self.name = name
        self.source = source
        self.line = line
        self.settings = {} if settings is None else settings
        self.php_values = [] if php_values is None else php_values  # file order
        self.php_admin_values = [] if php_admin_values is None else php_admin_values
        self.derived: dict[str, int] = {}  # what post_process sets, as php-fpm does

    def get(self, name: str):
        if name in self.derived:
            return self.derived[name]
        setting = self.settings.get(name)
        return setting.value if setting is not None else POOL_DEFAULTS.get(name)

    def text(self, setting: Setting) -> str:
        return setting.text.replace("$pool", self.name)

    @property
    def where(self) -> str:
        return f"{self.source.display}:{self.line}"

    def php_setting(self, key: str) -> list[tuple[str, Setting]]:
        """Every php_admin_value/php_value[KEY] (admin first: it wins and scripts cannot
        raise it with ini_set), in file order."""
        return [("php_admin_value", s) for k, s in self.php_admin_values if k == key] + \
               [("php_value", s) for k, s in self.php_values if k == key]


class FpmConfig(Record):
    """One php-fpm master's configuration: the main file and everything it includes."""

    def __init__(self, source: object, prefix: str = DEFAULT_PREFIX, files: list | None = None,
                 globals: dict[str, Setting] | None = None, pools: list[Pool] | None = None,
                 failed: bool = False, includes_followed: bool = True):
        self.source = source
        self.prefix = prefix
        self.files = [] if files is None else files  # Sources, in reading order
        self.globals = {} if globals is None else globals
        self.pools: list[Pool] = []
        self._named: dict[str, Pool] = {}  # the pools by lower-case name: one lookup per header
        for pool in pools or ():
            self.add_pool(pool)
        self.failed = failed  # php-fpm would refuse these files (a CONF001 names why)
        # False in a repository: absolute includes unknown
        self.includes_followed = includes_followed

    def pool(self, name: str) -> Pool | None:
        return self._named.get(name.lower())

    def add_pool(self, pool: Pool) -> None:
        self.pools.append(pool)
        self._named.setdefault(pool.name.lower(), pool)


# -- values ------------------------------------------------------------------------------

def fpm_integer(text: str) -> int | None:
    """fpm_conf_set_integer: digits with an optional leading '-', read by atoi (a C int);
    None when php-fpm rejects it."""
    if not re.fullmatch(r"-?[0-9]*", text):
        return None
    digits = text.lstrip("-")
    value = c_digits(digits) * (-1 if text.startswith("-") else 1) if digits else 0
    value = max(min(value, 2**63 - 1), -2**63) & 0xFFFFFFFF  # strtol, then int
    return value - (1 << 32) if value & 0x80000000 else value


def fpm_time(text: str) -> int | None:
    """fpm_conf_set_time: seconds, with an optional s/m/h/d suffix."""
    if not text:
        return None
    factor = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(text[-1])
    if factor is None and not text[-1].isdigit():
        return None
    m = re.match(r"[ \t\n\v\f\r]*([+-]?\d+)", text[:-1] if factor else text)
    return (int(m.group(1)) if m else 0) * (factor or 1)


def _convert(kind: str, text: str) -> tuple[object, str | None]:
    if kind == INTEGER:
        value = fpm_integer(text)
        return value, None if value is not None else \
            "is not a valid number (greater or equal than zero)"
    if kind == TIME:
        value = fpm_time(text)
        if value is None:
            return None, "invalid time value" if not text else "unknown suffix used"
        return value, None
    if kind == BOOLEAN:
        if text.lower() in ("1", ""):
            return text == "1", None
        return None, "invalid boolean value"
    if kind == PM:
        style = text.lower()
        if style in ("static", "dynamic", "ondemand"):
            return style, None
        return None, "invalid process manager (static, dynamic or ondemand)"
    return text, None


# -- reading -----------------------------------------------------------------------------

class Loader:
    """Reads one configuration through the host (``host.resolve``/``host.read``), so that
    ``--root`` stays inside the tree and a repository never reaches the machine's /etc."""

    def __init__(self, host, reader, environ: Mapping[str, str] | None = None):
        self.host, self.reader = host, reader
        self.environ = os.environ if environ is None else environ

    def load(self, source, prefix: str = DEFAULT_PREFIX) -> FpmConfig:
        config = FpmConfig(source, prefix)
        self._pool: Pool | None = None
        self.budget = IncludeBudget()
        self._read(config, source, depth=1)
        return config

    def _read(self, config: FpmConfig, source, depth: int) -> bool:
        config.files.append(source)
        for number, text in statement_lines(source.text):
            try:
                statements = parse_line(text, self.environ)
                error = None
            except IniSyntaxError as exc:
                statements, error = exc.done, f"PHP:  {exc}"
            for statement in statements:
                if not self._apply(config, source, number, statement, depth):
                    return False
            if error:
                source.problem("CONF001", number, f"php-fpm cannot parse this line: {error}",
                               key=source.line_text(number))  # no directive: the line
                config.failed = True
                return False
        return True

    def _apply(self, config: FpmConfig, source, line: int, statement, depth: int) -> bool:
        def fail(message: str) -> bool:
            scope = f"[{self._pool.name}] " if self._pool is not None else ""
            source.problem("CONF001", line, f"php-fpm rejects this line: {message}",
                           key=scope + statement.name)
            config.failed = True
            return False

        kind, name = statement.kind, statement.name
        if kind == "section":
            if name.lower() == "global":
                self._pool = None
            else:
                self._pool = config.pool(name)
                if self._pool is None:
                    self._pool = Pool(name, source, line)
                    config.add_pool(self._pool)
            return True
        if kind == "bare":
            return fail("value is NULL for a ZEND_INI_PARSER_ENTRY")
        value = statement.value or ""
        setting = Setting(name, value, value, source, line, statement.env)
        if kind == "array":
            if not statement.offset:
                return fail(f"You must provide a key for field '{name}'")
            if self._pool is None:
                return fail("Array are not allowed in the global section")
            if name not in ARRAYS:
                return fail(f"unknown directive '{name}'")
            if name == "env" and not value:
                return fail("empty value")
            target = self._pool.php_admin_values if name.startswith("php_admin") \
                else self._pool.php_values if name.startswith("php_") else None
            if target is not None:
                target.append((statement.offset, setting))
            return True
        if name == "include":
            return self._include(config, source, line, value, depth)
        options = POOL_OPTIONS if self._pool is not None else GLOBAL_OPTIONS
        canonical = next((o for o in options if o.lower() == name.lower()), None)
        if canonical is None:
            return fail(f"unknown entry '{name}'")
        converted, error = _convert(options[canonical], value)
        if error and line not in source.templated:
            return fail(f"unable to parse value for entry '{canonical}': {error}")
        # a template's placeholder (oomaudit/templates.py) is no value php-fpm refuses: the
        # rendered one is unknown (None), and only the verdicts that need it wait for it
        setting = Setting(canonical, value, None if error else converted, source, line,
                          statement.env)
        (self._pool.settings if self._pool is not None else config.globals)[canonical] = setting
        return True

    def _include(self, config: FpmConfig, source, line: int, pattern: str, depth: int) -> bool:
        """glob(GLOB_ERR | GLOB_MARK), sorted; relative patterns hang off the prefix."""
        where = f"{source.display}:{line}"
        full = pattern if pattern.startswith("/") else f"{config.prefix.rstrip('/')}/{pattern}"
        real = self.host.resolve(full, "/")
        if real is None:  # a repository: an absolute path on a host we do not have
            config.includes_followed = False
            return True
        if glob.has_magic(real.name) and not glob.has_magic(str(real.parent)) \
                and not self.host.fs.is_dir(real.parent):  # GLOB_ERR: cannot open the folder
            source.problem("CONF002", line, f"php-fpm cannot start: Unable to globalize "
                                          f"'{full}' (ret=2) from {where}: no such folder",
                           key=f"include={pattern}")
            config.failed = True
            return False
        try:
            files = self.host.fs.glob(real)  # glob(3) confined to the tree
        except OSError:
            files = []
        if not files:
            source.problem("CONF002", line, f"include={pattern} matches nothing (php-fpm only "
                                          "warns: Nothing matches the include pattern)",
                 "remove the include or create the files it should read",
                 key=f"include={pattern}")
            return True
        for path in files:
            if depth + 1 > MAX_DEPTH:
                source.problem("CONF002", line, f"php-fpm cannot start: failed to include more "
                                              f"than {MAX_DEPTH} files recursively "
                                              f"(include={pattern}, a loop?)",
                               key=f"include={pattern}")
                config.failed = True
                return False
            included = None if self.budget.spent else self.host.read(path, self.reader, where)
            if not self.budget.spent and included is None:
                config.failed = True
                return False
            if self.budget.spent or self.budget.admit(len(included.text)):
                source.problem("CONF002", line, f"include={pattern}: {self.budget.spent}",
                               key=f"include={pattern}")  # php-fpm reads on; so do we
                return True
            if not self._read(config, included, depth + 1):
                return False
        return True


def post_process(pool: Pool) -> str | None:
    """fpm_conf_process_all_pools: the first check this pool fails, in php-fpm's words. Like
    it, a dynamic pool without a positive ``pm.start_servers`` gets min_spare + (max_spare -
    min_spare) / 2 ("pm.start_servers is not set. It's been set to N.")."""
    name = pool.name
    listen = pool.settings.get("listen")
    if listen is None or not listen.text:
        return f"[pool {name}] no listen address have been defined!"
    style = pool.get("pm")
    if "pm" in pool.settings and style is None:  # templated: every check below needs it
        return None
    if style not in ("static", "dynamic", "ondemand"):
        return f"[pool {name}] the process manager is missing (static, dynamic or ondemand)"
    children = pool.get("pm.max_children")
    if _below(children, 1):
        return f"[pool {name}] pm.max_children must be a positive value"
    if style == "dynamic":
        low, high = pool.get("pm.min_spare_servers"), pool.get("pm.max_spare_servers")
        start = pool.get("pm.start_servers")
        if _below(low, 1):
            return f"[pool {name}] pm.min_spare_servers({low}) must be a positive value"
        if _below(high, 1):
            return f"[pool {name}] pm.max_spare_servers({high}) must be a positive value"
        if _below(children, low) or _below(children, high):
            return (f"[pool {name}] pm.min_spare_servers({low}) and pm.max_spare_servers("
                    f"{high}) cannot be greater than pm.max_children({children})")
        if _below(high, low):
            return (f"[pool {name}] pm.max_spare_servers({high}) must not be less than "
                    f"pm.min_spare_servers({low})")
        if _below(start, 1):
            start = pool.derived["pm.start_servers"] = None if None in (low, high) else \
                low + (high - low) // 2
        if _below(start, low) or _below(high, start):
            return (f"[pool {name}] pm.start_servers({start}) must not be less than "
                    f"pm.min_spare_servers({low}) and not greater than "
                    f"pm.max_spare_servers({high})")
        if _below(pool.get("pm.max_spawn_rate"), 1):
            return f"[pool {name}] pm.max_spawn_rate must be a positive value"
    elif style == "ondemand":
        idle = pool.get("pm.process_idle_timeout")
        if _below(idle, 1):
            return f"[pool {name}] pm.process_idle_timeout({idle}s) must be greater than 0s"
    return None


def _below(value: int | None, bound: int | None) -> bool:
    """``value < bound`` when both are known; a templated value (None) fails no check."""
    return value is not None and bound is not None and value < bound


def shared_listen(config: FpmConfig) -> tuple[Pool, str] | None:
    """The end of fpm_conf_process_all_pools, once every pool passed: two pools may not
    listen on one address (compared as php-fpm stores it: ``$pool`` expanded, a relative
    socket path under the pool's prefix). (the later pool, the message) or None.

    php-fpm compares every pair, the first pool outside and every other inside: what it
    names is the earliest pool that shares its address, and the next pool on that address.
    Each address is computed once and the pools grouped by it in the order of each
    address's first pool, which names the same two."""
    def address(pool: Pool) -> str:
        text = pool.text(pool.settings["listen"])
        if ":" in text or text.isdigit() or text.startswith("/"):  # AF_INET, or absolute
            return text
        prefix = pool.settings.get("prefix")
        return posixpath.join(pool.text(prefix) if prefix else config.prefix, text)

    on: dict[str, list[Pool]] = {}  # in the order of each address's first pool
    for pool in config.pools:
        on.setdefault(address(pool), []).append(pool)
    for first, other, *_ in (pools for pools in on.values() if len(pools) > 1):
        return other, (f"[pool {other.name}] unable to set listen address as it's "
                       f"already used in another pool '{first.name}'")
    return None


_POOL_KEYS = re.compile(r"^[ \t]*;?[ \t]*(pm(\.[a-z_]+)?|listen(\.[a-z_]+)?|"
                        r"php_admin_value\[[a-z_.]+\]|request_terminate_timeout)[ \t]*=", re.M)


def sniff(head: str) -> bool:
    """A pool file named otherwise (``...__pool.d__www.conf``): a ``[name]`` section and
    pool keys (commented ones count: shipped pool files are mostly documentation) or one
    ``pm.*`` setting (no other format has them), or
    ``[global]`` with php-fpm.conf's own keys or a pool key (the Docker images'
    ``zz-docker.conf``: ``daemonize = no``, then ``[www]`` with ``listen = 9000``)."""
    if not re.search(r"^[ \t]*\[[^\]\n]+\][ \t]*(;.*)?$", head, re.M):
        return False
    if re.search(r"^[ \t]*\[global\]", head, re.M | re.I):
        return bool(re.search(r"^[ \t]*;?[ \t]*(include|pid|error_log|"
                              r"process_control_timeout)[ \t]*=", head, re.M)
                    or _POOL_KEYS.search(head))
    return len({m.group(1) for m in _POOL_KEYS.finditer(head)}) >= 2 or \
        bool(re.search(r"^[ \t]*pm\.[a-z_]+[ \t]*=", head, re.M))  # an override's one line
