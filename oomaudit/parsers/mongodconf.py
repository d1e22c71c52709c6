"""mongod.conf, MongoDB's YAML configuration file: the WiredTiger cache
(``storage.wiredTiger.engineConfig.cacheSizeGB``) and the default mongod gives it.

mongod reads nested keys and dotted ones alike (``storage.wiredTiger.engineConfig.
cacheSizeGB: 2`` at the top is the same setting), refuses a key given twice and a cache
outside 0.25-10000 GB (a double; "GB" is 2^30 bytes). Without it the cache is the larger
of 50% of (RAM - 1 GB) and 256 MB, RAM being what mongod sees: a container's memory limit
when there is one. From MongoDB's documentation (the WiredTiger storage engine, the
configuration file options): no Debian package ships mongod, so no test runs it.
"""
from __future__ import annotations

from typing import Any, NamedTuple

from oomaudit.reading import Source

from .yamltree import Map, YamlError, line_of, load_all

GiB = 1 << 30
KEY = "storage.wiredTiger.engineConfig.cacheSizeGB"
LOWEST, HIGHEST = 0.25, 10000.0


class Config(NamedTuple):
    source: Source
    cache_gb: float | None  # cacheSizeGB as set, None for mongod's default
    line: int | None
    failed: bool  # mongod refuses the file: not judged

    def cache(self, ram: int) -> int:
        """The cache's bytes on a host whose mongod sees ``ram`` bytes."""
        return int(self.cache_gb * GiB) if self.cache_gb is not None else default_cache(ram)


def default_cache(ram: int) -> int:
    """WiredTiger's default: the larger of 50% of (RAM - 1 GB) and 256 MB."""
    return max((ram - GiB) // 2, 256 << 20)


def _flatten(node: Any, prefix: str, out: dict[str, tuple[Any, int]]) -> str:
    """Every leaf of ``node`` under its dotted name; the first key met twice, else ""."""
    for key, value in node.items():
        name = f"{prefix}{key}"
        if isinstance(value, Map):
            twice = _flatten(value, f"{name}.", out)
            if twice:
                return twice
        elif name in out:
            return name
        else:
            out[name] = (value, line_of(node, key))
    return ""


def parse(source: Source) -> Config:
    try:
        documents = [d for d in load_all(source.text) if d.root is not None]
    except YamlError as exc:
        source.problem("CONF001", exc.line, f"mongod cannot read this YAML: {exc.message}")
        return Config(source, None, None, True)
    if not documents:
        return Config(source, None, None, False)
    if len(documents) > 1 or not isinstance(documents[0].root, Map):
        source.problem("CONF001", documents[-1].line, "mongod reads one YAML mapping, "
                       "not several documents or a list")
        return Config(source, None, None, True)
    settings: dict[str, tuple[Any, int]] = {}
    twice = _flatten(documents[0].root, "", settings)
    if twice:
        source.problem("CONF001", None, f"mongod refuses {twice} given twice", key=twice)
        return Config(source, None, None, True)
    if KEY not in settings:
        return Config(source, None, None, False)
    value, line = settings[KEY]
    number = _double(value)
    if number is None or not LOWEST <= number <= HIGHEST:
        source.problem("CONF001", line, f"mongod refuses cacheSizeGB {value!r}: a number of "
                       f"GB from {LOWEST} to {HIGHEST:g} is expected", key=KEY)
        return Config(source, None, line, True)
    return Config(source, number, line, False)


def _double(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return None
    return None
