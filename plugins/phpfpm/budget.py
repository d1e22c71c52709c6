"""Each pool's worst case, ``pm.max_children`` x the memory of one child, and PHP-FPM's
share of the memory ledger.
"""
from __future__ import annotations

from typing import NamedTuple

from oomaudit.plugins.containers.constants import COMPOSE

from oomaudit.parsers.phpfpm import FpmConfig, Pool
from oomaudit.units import format_size

from .configs import configs
from .constants import PLUGIN, SERVICE
from .sizes import ChildSize, child_size


class PoolCase(NamedTuple):
    """A pool's worst case: ``children`` (pm.max_children) x ``size``. ``children`` is None
    when a template fills it in (unknown until rendered: the pool's worst case waits for it,
    its other verdicts do not); ``total`` is None then, and when memory_limit = -1 leaves a
    child unbounded."""

    config: FpmConfig
    pool: Pool
    children: int | None
    size: ChildSize

    @property
    def total(self) -> int | None:
        if self.children is None or self.size.bytes is None:
            return None
        return self.children * self.size.bytes

    @property
    def location(self) -> tuple[str, int]:
        setting = self.pool.settings.get("pm.max_children")
        if setting is not None:
            return setting.source.display, setting.line
        return self.pool.source.display, self.pool.line

    @property
    def where(self) -> str:
        path, line = self.location
        return f"{path}:{line}"


def cases(host) -> list[PoolCase]:
    if "php-fpm.cases" not in host.cache:
        host.cache["php-fpm.cases"] = [
            PoolCase(c, p, p.get("pm.max_children"), child_size(host, c, p))
            for c in configs(host) if not c.failed for p in c.pools]
    return host.cache["php-fpm.cases"]


def budget(host):
    """Every pool's worst case as ledger service ``php-fpm``, but a pool whose file a compose
    service mounts: that container's entry counts it."""
    contained = None
    if host.documents(COMPOSE):  # bind mounts come from compose files: none, no import
        from oomaudit.plugins.containers.services import in_containers as contained
    for case in cases(host):
        if case.total is None or (contained and contained(host, [case.pool.source.path])):
            continue
        host.ledger.add(SERVICE, case.total,
                        f"pool {case.pool.name}: pm.max_children {case.children} x "
                        f"{format_size(case.size.bytes)} ({case.size.how})", case.where, PLUGIN)
