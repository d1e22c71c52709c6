"""A pool's ``memory_limit`` as PHP reads it: the pool's php_admin_value and php_value,
then the php.ini this php-fpm reads and its scan dir, then PHP's default.
"""
from __future__ import annotations

import os
from pathlib import Path

from oomaudit import Evidence
from oomaudit.host import FILES
from oomaudit.parsers.phpfpm import FpmConfig, Pool
from oomaudit.parsers.zendini import IniSyntaxError, parse_line, quantity, scan_dir, statement_lines

PHP_DEFAULT_LIMIT = 128 << 20  # memory_limit when no php.ini sets it


def memory_limit(host, config: FpmConfig, pool: Pool) -> tuple[int | None, list[Evidence]]:
    """The pool's memory_limit: php_admin_value, then php_value (which scripts may change
    with ini_set), then php.ini (and its scan dir), then PHP's default 128M."""
    entries = pool.php_setting("memory_limit")
    for kind in ("php_admin_value", "php_value"):
        mine = [s for k, s in entries if k == kind]
        values = [(s, quantity(s.text)) for s in mine]
        values = [(s, v) for s, v in values if v is not None]
        if values:
            setting, value = max(values, key=lambda sv: _bound(sv[1]))
            note = " (set more than once: the largest counts)" if len(values) > 1 else ""
            if kind == "php_value":
                note += "; php_value can be raised by scripts with ini_set"
            return _limit(value, f"{kind}[memory_limit] = {setting.text}{note}", setting.where)
    found = php_ini(host, config)
    if found:
        text, where = found
        value = quantity(text)
        if value is not None:
            return _limit(value, f"memory_limit = {text}", where)
    return _limit(PHP_DEFAULT_LIMIT, "memory_limit = 128M", "PHP's default (no php.ini "
                  "setting found)")


def _bound(value: int) -> float:
    return float("inf") if value < 0 else value


def _limit(value: int, what: str, where: str) -> tuple[int | None, list[Evidence]]:
    if value < 0:
        return None, [Evidence(f"{what}: unlimited, a child may grow without bound", where)]
    return value, [Evidence(what, where)]


def php_ini(host, config: FpmConfig) -> tuple[str, str] | None:
    """memory_limit from the php.ini this php-fpm reads, then its scan dir (conf.d), the
    last one wins: Debian /etc/php/VER/fpm/, RHEL /etc/php.ini and /etc/php.d/."""
    last = None
    for path in _ini_files(host, config):
        source = host.read(path, None, config.source.display)
        if source is None:
            continue
        section = ""
        for number, text in statement_lines(source.text):
            try:
                statements = parse_line(text.rstrip("\r"))  # as Source.lines has them
            except IniSyntaxError as exc:
                statements = exc.done
            for st in statements:
                if st.kind == "section":
                    section = st.name.lower()
                elif st.kind == "entry" and st.name == "memory_limit" and \
                        not section.startswith(("path=", "host=")):
                    last = (st.value or "", f"{source.display}:{number}")
    return last


def _ini_files(host, config: FpmConfig) -> list[Path]:
    main = config.source.path
    if host.mode == FILES:  # absolute: `check www.conf` in pool.d/ finds fpm/php.ini too
        main = Path(os.path.abspath(main))
        folders = [main.parent, main.parent.parent]
        found = [f / "php.ini" for f in folders if host.fs.is_file(f / "php.ini")][:1]
        return found + scan_dir(host.fs, found[0].parent / "conf.d") if found else []
    inside = config.source.inside or str(main)
    folder = os.path.dirname(inside)
    if folder.endswith(("/php-fpm.d", "/pool.d")):
        folder = os.path.dirname(folder)
    pairs = [(f"{folder}/php.ini", f"{folder}/conf.d"), ("/etc/php.ini", "/etc/php.d"),
             (f"{folder}/php/php.ini", f"{folder}/php/conf.d")]
    for ini, scan in pairs:
        real = host.resolve(ini, "/")
        if real is not None and host.fs.is_file(real):
            folder_real = host.resolve(scan, "/")
            return [real, *(scan_dir(host.fs, folder_real) if folder_real else [])]
    return []
