"""What the CI formats (SARIF, GitHub, GitLab) share: where a finding is, as a forge resolves
it (their JSON is ``oomaudit.jsonout``'s, as every JSON oomaudit writes).

A forge shows a result only in a file of the repository, by a path relative to its root:
the root fingerprints use (``Report.roots``), so that an alert keeps its place and its
identity together. A finding about a host as a whole (HOST002 over a repository, a live
fact) has no file of its own; it is placed where the host is described
(``Report.host_places``: its ``[[hosts]]`` table, else the config file, else for ``check``
the first of its files), because code scanning rejects a whole upload with a result in no
file and GitLab requires a path for every entry.
"""
from __future__ import annotations

from ..fingerprint import relative
from ..report import Report


def place(report: Report, host: str, finding) -> tuple[str, int | None] | None:
    """``(path relative to the root, line)`` of a finding, ``None`` when nothing places it."""
    root, cwd = report.roots[host]
    if finding.path:
        return relative(finding.path, root, cwd), finding.line
    where = report.host_places.get(host)
    return (relative(where[0], root, cwd), where[1]) if where else None


