"""PHP-FPM configurations: what one master reads (php-fpm.conf with every pool file it
includes, or a pool file given alone), once per run, and the problems php-fpm refuses to
start with (CONF001), found the way ``php-fpm -tt`` finds them.
"""
from __future__ import annotations

import os
import re

from oomaudit.parsers import phpfpm
from oomaudit.parsers.phpfpm import FpmConfig, Pool, post_process, shared_listen
from oomaudit.record import Record
from oomaudit.snippets import snippet

from .constants import PLUGIN, READER

_INCLUDE = re.compile(r"^[ \t]*include[ \t]*=", re.M)
_MISSING = re.compile(r"no listen address|process manager is missing")


class FpmFile(Record):
    """What parse() knows without the host: the file. Includes are followed later, once
    every file of the run has been found."""

    def __init__(self, source: object):
        self.source = source


def configs(host) -> list[FpmConfig]:
    """Every php-fpm configuration of the host, once per run: a file another one includes
    belongs to that configuration, not to one of its own."""
    if "php-fpm" in host.cache:
        return host.cache["php-fpm"]
    loader = phpfpm.Loader(host, READER)
    loaded = [loader.load(doc.source) for doc in host.documents(PLUGIN)]
    included = {id(s) for c in loaded for s in c.files[1:]}
    result = [c for c in loaded if id(c.source) not in included]
    for config in result:
        _post_process(config)
    host.cache["php-fpm"] = result
    return result


def _post_process(config: FpmConfig) -> None:
    if config.failed:
        return
    # Only a master's own file must define a pool: a pool file given alone (an empty
    # php-fpm.d/www.conf in a repository) is a fragment of a configuration we do not have.
    # A [global] section does not make a master: the Docker images' docker.conf and
    # zz-docker.conf start with one, and are included after www.conf.
    main = config.source.path.name.endswith("php-fpm.conf") or \
        bool(_INCLUDE.search(config.source.text))
    if not config.pools and config.includes_followed and main:
        config.source.problem("CONF001", None, "php-fpm refuses to start: No pool "
                    "defined. at least one pool section must be specified in config file")
    if not main:  # a section that sets no pm adds to a pool another file defines
        config.pools = [p for p in config.pools if {"pm", "pm.max_children"} & p.settings.keys()]
    for pool in config.pools:
        alert = post_process(pool)
        if alert and not main and _MISSING.search(alert):
            continue  # what a fragment leaves out, the files read with it may give
        if alert:
            named = re.search(r"\] (pm(?:\.[a-z_]+)?|no listen)", alert)
            key = {"no listen": "listen"}.get(named.group(1), named.group(1)) if named else ""
            setting = pool.settings.get(key)
            source, line = (setting.source, setting.line) if setting else (pool.source,
                                                                           pool.line)
            depends = _environment(pool)
            source.problem("CONF001", line, f"php-fpm refuses to start: {alert}"
                           + (f" ({depends})" if depends else ""),
                           key=f"[{pool.name}] {key}".rstrip())
            config.failed = True
    shared = None if config.failed or not all("listen" in p.settings for p in config.pools) \
        else shared_listen(config)
    if shared:
        pool, message = shared
        listen = pool.settings["listen"]
        listen.source.problem("CONF001", listen.line, f"php-fpm refuses to start: {message}",
                              fix=snippet("give pool {pool} a listen address of its own, e.g. "
                                          "listen = /run/php/php-fpm-{pool}.sock",
                                          pool=pool.name),
                              key=f"[{pool.name}] listen")
        config.failed = True


def _environment(pool: Pool) -> str:
    names = sorted({n for s in pool.settings.values() if s.name.startswith("pm")
                    for n in s.env})
    if not names:
        return ""
    shown = ", ".join(f"{n}={os.environ[n]!r}" if n in os.environ else f"{n} unset"
                      for n in names)
    text = f"pm values depend on the environment: {shown} here; php-fpm reads its own environment"
    fallback = next((n for n in names if ":-" in n), "")
    if fallback:  # read as 8.2 reads it (the php-fpm the tests compare with); say so
        var, _, default = fallback.partition(":-")
        text += (f". Up to PHP 8.2 '{fallback}' names one variable; PHP 8.3 and later read "
                 f"it as {var} with the default {default!r}")
    return text
