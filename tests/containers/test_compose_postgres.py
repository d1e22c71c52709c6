"""A postgresql.conf mounted into a PostgreSQL container (issue 14.6): CONTAINER003 judges
its whole worst case against the limit, as the PostgreSQL plugin sums it, the command
line's -c over the file; the annotated project is fixtures/compose/postgres-mounted."""
from __future__ import annotations

import re
import shutil

import pytest
from container_helpers import FIXTURES, findings, hits

PROJECT = FIXTURES / "compose" / "postgres-mounted"


def _annotated() -> set[tuple[str, str, int]]:
    return {(m.group(1), path.name, number)
            for path in PROJECT.iterdir()
            for number, line in enumerate(path.read_text().splitlines(), 1)
            for m in re.finditer(r"#\s*expect:\s*([A-Z]+\d{3})", line)}


def test_annotated_project(oomaudit):
    found = findings(oomaudit, ".", cwd=PROJECT)
    assert hits(found) == _annotated()
    db = next(f for f in found if f["rule"] == "CONTAINER003")
    assert "PostgreSQL worst case 6.9 GiB" in db["message"]
    what = db["evidence"][0]["what"]
    assert "shared_buffers 512.0 MiB + connections 6.2 GiB + autovacuum 192.0 MiB" in what
    assert "in postgresql.conf: shared_buffers = 460MB, work_mem = 4MB" in db["fix"]


@pytest.mark.parametrize("work_mem, fires", [("2MB", False), ("8MB", True)])
def test_command_line_beats_the_mounted_file(oomaudit, tmp_path, work_mem, fires):
    """Service reports reads the file at $PGDATA/postgresql.conf (no config_file) with -c
    work_mem: 200 x 8MB x 2 more than fills 2g, 200 x 2MB x 2 does not."""
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project)
    compose = project / "compose.yaml"
    compose.write_text(compose.read_text().replace("work_mem=2MB", f"work_mem={work_mem}"))
    line = compose.read_text().splitlines().index("      - ./postgresql.conf:/data/"
                                                   "postgresql.conf") + 1
    assert (("CONTAINER003", "compose.yaml", line) in hits(findings(oomaudit, ".",
                                                                    cwd=project))) == fires


def test_a_mount_the_server_does_not_read_is_not_judged(oomaudit, tmp_path):
    (tmp_path / "postgresql.conf").write_text("max_connections = 500\nwork_mem = 64MB\n")
    (tmp_path / "compose.yaml").write_text(
        "services:\n  db:\n    image: postgres:16\n    mem_limit: 1g\n    volumes:\n"
        "      - ./postgresql.conf:/etc/postgresql/postgresql.conf\n")  # no config_file
    assert hits(findings(oomaudit, ".", cwd=tmp_path)) == set()
