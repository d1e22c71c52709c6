"""The same verdict for the same postgresql.conf however it is named (issue 14.5): the
major version comes from /etc/postgresql/N/main/ of the file's real path, so `check .`,
`check etc/postgresql/N/main/postgresql.conf`, an absolute path and a bare name from inside
the folder all charge PostgreSQL 12-14 no hash_mem_multiplier of 2 (15's default)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

MB = 1 << 20
CONF = "shared_buffers = 1GB\nwork_mem = 64MB\nmax_connections = 200\n"


def _ledger(oomaudit, target, cwd: Path) -> dict:
    """The cluster's ledger entry, with ``evidence``: the words of its PG findings (4 GiB of
    RAM: the worst case is above it)."""
    proc = oomaudit("check", str(target), "--ram", "4G", "--format", "json", cwd=cwd)
    assert_no_traceback(proc)
    report = json.loads(proc.stdout)
    found = [c for h in report["hosts"] for c in h["ledger"] if c["plugin"] == "postgresql"]
    assert len(found) == 1, found
    found[0]["evidence"] = " ".join(e["what"] for f in report["findings"]
                                    if f["rule"].startswith("PG") for e in f["evidence"])
    return found[0]


def _repo(tmp_path: Path, version: int) -> tuple[Path, Path]:
    repo = tmp_path / f"repo{version}"
    inside = Path(f"etc/postgresql/{version}/main/postgresql.conf")
    if not repo.exists():
        (repo / inside).parent.mkdir(parents=True)
        (repo / inside).write_text(CONF)
        (repo / ".git").mkdir()  # the work tree's top: what check may read in
    return repo, inside


@pytest.mark.parametrize("version, multiplier", [(12, 1), (13, 1), (14, 1), (15, 2)])
def test_worst_case_follows_the_version_in_the_path_however_named(oomaudit, tmp_path, version,
                                                                  multiplier):
    repo, inside = _repo(tmp_path, version)
    named = [(".", repo), (inside, repo), (repo / inside, tmp_path),
             (inside.name, repo / inside.parent)]
    ledgers = [_ledger(oomaudit, target, cwd) for target, cwd in named]
    expected = (1024 + 200 * 64 * multiplier + 3 * 64) * MB
    assert [c["bytes"] for c in ledgers] == [expected] * len(named)
    assert all(c["service"] == f"postgresql {version}/main" for c in ledgers)
    assert all("max_connections 200" in c["evidence"] for c in ledgers)
    hashed = ["hash_mem_multiplier" in c["evidence"] for c in ledgers]
    assert hashed == [version >= 13] * len(named)  # 12 has no such setting to name


@settings(max_examples=10, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(0, 5), absolute=st.booleans())
def test_any_working_directory_gives_the_same_ledger(oomaudit, tmp_path, depth, absolute):
    repo, inside = _repo(tmp_path, 14)
    folders = [repo.joinpath(*inside.parts[:i]) for i in range(len(inside.parts))]
    cwd = folders[min(depth, len(folders) - 1)]
    target = repo / inside if absolute else (repo / inside).relative_to(cwd)
    assert _ledger(oomaudit, target, cwd)["bytes"] == (1024 + 200 * 64 + 3 * 64) * MB
