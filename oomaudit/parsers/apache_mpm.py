"""Apache httpd's multi-processing modules: their directives, compiled-in defaults and the
limits each one enforces when it checks its configuration.

httpd never rejects an out-of-range worker limit: each MPM's ``check_config`` hook
quietly moves it into range and prints one ``AH00xxx: WARNING`` line on stderr
(``apache2 -t`` shows them). The effective numbers, not the configured ones, decide
how many processes can run; ``evaluate`` reproduces those hooks for httpd 2.4 as
Debian and RHEL build it (server/mpm/{prefork,worker,event}/*.c), messages and all.
"""
from __future__ import annotations

import re
from typing import NamedTuple

from ..record import Record

# Deprecated names httpd still accepts; the last of either spelling wins.
ALIASES = {"maxclients": "MaxRequestWorkers", "maxrequestsperchild": "MaxConnectionsPerChild"}
# lower-case name -> the name httpd's command table gives it (and prints in errors)
COMMANDS = {n.lower(): n for n in (
    "StartServers", "MinSpareServers", "MaxSpareServers", "ServerLimit", "MaxRequestWorkers",
    "MinSpareThreads", "MaxSpareThreads", "ThreadsPerChild", "ThreadLimit",
    "AsyncRequestWorkerFactor", "MaxConnectionsPerChild", "MaxClients", "MaxRequestsPerChild")}
CANONICAL = {**COMMANDS, **ALIASES}  # lower-case name -> the setting it sets
_SHARED = frozenset({"startservers", "serverlimit", "maxrequestworkers", "maxclients"})
_THREADED = _SHARED | {"minsparethreads", "maxsparethreads", "threadsperchild", "threadlimit"}
# Directives that exist only while some MPM is loaded ("Invalid command" otherwise).
MPM_ONLY = _THREADED | {"minspareservers", "maxspareservers", "asyncrequestworkerfactor"}


class Mpm(Record):  # one object per MPM: compared and hashed by identity; read-only
    """One MPM's compiled-in numbers (httpd 2.4 as Debian and RHEL build it): the defaults
    and compile-time maxima its ``check_config`` hook clamps against."""

    def __init__(self, name: str, directives: frozenset[str], server_limit: int,
                 max_server_limit: int, codes: dict[str, str], threads_per_child: int = 1,
                 thread_limit: int = 1, max_thread_limit: int = 1, max_workers: int = 0):
        self.name = name  # prefork, worker, event
        self.directives = directives  # lower-case names this MPM adds
        self.server_limit = server_limit  # DEFAULT_SERVER_LIMIT
        self.max_server_limit = max_server_limit  # MAX_SERVER_LIMIT (compile-time)
        self.codes = codes  # message kind -> AH number printed at start-up (-t)
        self.threads_per_child = threads_per_child
        self.thread_limit = thread_limit
        self.max_thread_limit = max_thread_limit
        self.max_workers = max_workers  # default MaxRequestWorkers

    @property
    def module(self) -> str:
        return f"mpm_{self.name}_module"

    @property
    def threaded(self) -> bool:
        return self.name != "prefork"


PREFORK = Mpm("prefork", _SHARED | {"minspareservers", "maxspareservers"}, 256, 200000,
              {"sl_high": "AH00175", "sl_low": "AH00177", "mrw_high": "AH00180",
               "mrw_low": "AH00182"}, max_workers=256)
WORKER = Mpm("worker", _THREADED, 16, 20000,
             {"sl_high": "AH00300", "sl_low": "AH00302", "tl_high": "AH00305",
              "tl_low": "AH00307", "tpc_high": "AH00310", "tpc_low": "AH00312",
              "mrw_low": "AH00314", "mrw_multiple": "AH00316", "mrw_high": "AH00318"},
             threads_per_child=25, thread_limit=64, max_thread_limit=20000, max_workers=400)
EVENT = Mpm("event", _THREADED | {"asyncrequestworkerfactor"}, 16, 20000,
            {"sl_high": "AH00497", "sl_low": "AH00499", "tl_high": "AH00502",
             "tl_low": "AH00504", "tpc_high": "AH00507", "tpc_low": "AH00509",
             "mrw_low": "AH00511", "mrw_multiple": "AH00513", "mrw_high": "AH00515"},
            threads_per_child=25, thread_limit=64, max_thread_limit=100000, max_workers=400)
MPMS = {m.module: m for m in (PREFORK, WORKER, EVENT)}
BY_NAME = {m.name: m for m in (PREFORK, WORKER, EVENT)}


def atoi(text: str) -> int:
    """C's atoi as glibc does it: (int) strtol(text, NULL, 10). Junk after the digits is
    ignored, no digits is 0, and out-of-range values saturate at LONG_MAX/MIN and then
    wrap to 32 bits; httpd reads every worker limit this way, without complaint."""
    m = re.match(r"[ \t\n\v\f\r]*([+-]?[0-9]+)", text)
    if not m:
        return 0
    value = max(-(1 << 63), min((1 << 63) - 1, int(m.group(1))))
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


class Setting(NamedTuple):
    """A configured value: the directive as written, atoi of its argument, where."""

    name: str  # canonical (MaxRequestWorkers for MaxClients)
    written: str  # the directive's name as it appears in the file
    text: str
    path: str
    line: int

    @property
    def value(self) -> int:
        return atoi(self.text)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


class Clamp(NamedTuple):
    """One value the MPM changed, with the warning httpd prints for it."""

    name: str
    configured: int
    effective: int
    message: str  # "AH00515: WARNING: ..."
    setting: Setting | None  # None: the default was clamped (because another value moved)


class Limits(Record):
    """What one MPM runs with after its ``check_config`` hook (:func:`evaluate`): the effective
    values, the directives as written (``settings``, by canonical name) and each value the
    hook moved (``clamps``)."""

    def __init__(self, mpm: Mpm, server_limit: int, thread_limit: int, threads_per_child: int,
                 max_workers: int, settings: dict[str, Setting] | None = None,
                 clamps: list[Clamp] | None = None):
        self.mpm = mpm
        self.server_limit = server_limit
        self.thread_limit = thread_limit
        self.threads_per_child = threads_per_child
        self.max_workers = max_workers
        self.settings = {} if settings is None else settings
        self.clamps = [] if clamps is None else clamps

    @property
    def processes(self) -> int:
        """Child processes at full load: MaxRequestWorkers for prefork, MaxRequestWorkers /
        ThreadsPerChild for the threaded MPMs (never more than ServerLimit)."""
        if not self.mpm.threaded:
            return self.max_workers
        return min(self.server_limit, self.max_workers // max(1, self.threads_per_child))

    @property
    def max_connections_per_child(self) -> int:
        setting = self.settings.get("MaxConnectionsPerChild")
        return setting.value if setting else 0  # 0 (never recycle) is httpd 2.4's default

    def origin(self, name: str) -> str:
        setting = self.settings.get(name)
        return setting.where if setting else f"{self.mpm.name} MPM default"


def evaluate(mpm: Mpm, settings: dict[str, Setting]) -> Limits:
    """The limits ``mpm`` runs with, in the order its check_config hook applies them."""
    def configured(name: str, default: int) -> int:
        return settings[name].value if name in settings else default

    limits = Limits(mpm, configured("ServerLimit", mpm.server_limit),
                    configured("ThreadLimit", mpm.thread_limit),
                    configured("ThreadsPerChild", mpm.threads_per_child),
                    configured("MaxRequestWorkers", mpm.max_workers), dict(settings))

    def clamp(name: str, kind: str, old: int, new: int, text: str) -> int:
        message = f"{mpm.codes[kind]}: WARNING: {text}"
        limits.clamps.append(Clamp(name, old, new, message, settings.get(name)))
        return new

    sl = limits.server_limit
    if sl > mpm.max_server_limit:
        sl = clamp("ServerLimit", "sl_high", sl, mpm.max_server_limit,
                   f"ServerLimit of {sl} exceeds compile-time limit of {mpm.max_server_limit} "
                   f"servers, decreasing to {mpm.max_server_limit}.")
    elif sl < 1:
        sl = clamp("ServerLimit", "sl_low", sl, 1, f"ServerLimit of {sl} not allowed, "
                                                   "increasing to 1.")
    limits.server_limit = sl
    workers = limits.max_workers
    if not mpm.threaded:
        if workers > sl:
            workers = clamp("MaxRequestWorkers", "mrw_high", workers, sl,
                            f"MaxRequestWorkers of {workers} exceeds ServerLimit value of {sl} "
                            f"servers, decreasing MaxRequestWorkers to {sl}. To increase, please "
                            "see the ServerLimit directive.")
        elif workers < 1:
            workers = clamp("MaxRequestWorkers", "mrw_low", workers, 1,
                            f"MaxRequestWorkers of {workers} not allowed, increasing to 1.")
        limits.max_workers = workers
        return limits
    tl = limits.thread_limit
    if tl > mpm.max_thread_limit:
        tl = clamp("ThreadLimit", "tl_high", tl, mpm.max_thread_limit,
                   f"ThreadLimit of {tl} exceeds compile-time limit of {mpm.max_thread_limit} "
                   f"threads, decreasing to {mpm.max_thread_limit}.")
    elif tl < 1:
        tl = clamp("ThreadLimit", "tl_low", tl, 1, f"ThreadLimit of {tl} not allowed, "
                                                   "increasing to 1.")
    tpc = limits.threads_per_child
    if tpc > tl:
        tpc = clamp("ThreadsPerChild", "tpc_high", tpc, tl,
                    f"ThreadsPerChild of {tpc} exceeds ThreadLimit of {tl} threads, decreasing "
                    f"to {tl}. To increase, please see the ThreadLimit directive.")
    elif tpc < 1:
        tpc = clamp("ThreadsPerChild", "tpc_low", tpc, 1, f"ThreadsPerChild of {tpc} not "
                                                          "allowed, increasing to 1.")
    if workers < tpc:
        workers = clamp("MaxRequestWorkers", "mrw_low", workers, tpc,
                        f"MaxRequestWorkers of {workers} is less than ThreadsPerChild of {tpc}, "
                        f"increasing to {tpc}. MaxRequestWorkers must be at least as large as "
                        "the number of threads in a single server.")
    servers = workers // tpc
    if workers % tpc:
        workers = clamp("MaxRequestWorkers", "mrw_multiple", workers, servers * tpc,
                        f"MaxRequestWorkers of {workers} is not an integer multiple of "
                        f"ThreadsPerChild of {tpc}, decreasing to nearest multiple "
                        f"{servers * tpc}, for a maximum of {servers} servers.")
    if servers > sl:
        workers = clamp("MaxRequestWorkers", "mrw_high", workers, sl * tpc,
                        f"MaxRequestWorkers of {workers} would require {servers} servers and "
                        f"would exceed ServerLimit of {sl}, decreasing to {sl * tpc}. To "
                        "increase, please see the ServerLimit directive.")
    limits.thread_limit, limits.threads_per_child, limits.max_workers = tl, tpc, workers
    return limits
