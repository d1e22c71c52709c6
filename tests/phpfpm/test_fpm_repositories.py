"""PHP-FPM in repositories laid out as real ones are (fixtures/repos/, see its README): an
absolute include resolved in the host tree the repository holds, Docker's [global]
fragments, pool files at the top of a repository; the same findings however a file is named."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import assert_no_traceback
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REPOS = Path(__file__).resolve().parent / "fixtures" / "repos"
ANNOTATION = re.compile(r";\s*expect:\s*([A-Z]+\d{3})")


def _findings(oomaudit, *targets, cwd: Path, ram: str) -> set[tuple[str, str, int | None]]:
    """(rule, path from the repository, line) of every file finding of a check."""
    proc = oomaudit("check", "--ram", ram, "--format", "json", *map(str, targets), cwd=cwd)
    assert_no_traceback(proc)
    assert proc.returncode in (0, 1), proc.stderr
    report = json.loads(proc.stdout)
    assert not report["errors"], report["errors"]
    root = cwd.resolve()
    return {(f["rule"], Path(root, f["path"]).resolve().relative_to(root).as_posix(), f["line"])
            for f in report["findings"] if f["path"] is not None}


def _expected(repo: Path) -> tuple[set[tuple[str, str, int]], str]:
    expected, ram = set(), "8G"
    for path in sorted(p for p in repo.rglob("*") if p.is_file()):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            ram = line.split(":", 1)[1].strip() if line.startswith("; ram:") else ram
            expected |= {(m.group(1), path.relative_to(repo).as_posix(), number)
                         for m in ANNOTATION.finditer(line)}
    return expected, ram


@pytest.fixture
def repo(tmp_path, request) -> Path:
    copy = tmp_path / "repo"
    shutil.copytree(REPOS / request.param, copy)
    return copy


@pytest.mark.parametrize("repo", ["etc-tree", "docker-image"], indirect=True)
def test_annotated_repositories(oomaudit, repo):
    expected, ram = _expected(repo)
    found = {f for f in _findings(oomaudit, ".", cwd=repo, ram=ram)
             if f[0].startswith(("FPM", "CONF"))}
    assert found == expected


@pytest.mark.parametrize("repo", ["etc-tree"], indirect=True)
def test_absolute_include_is_the_repositorys_own_folder_however_the_main_file_is_named(
        oomaudit, repo):
    """pre-commit passes only the changed php-fpm.conf: its include still reaches pool.d/
    (one pool www, merged from www.conf and zz-tuning.conf), and `check .`, which meets
    pool.d's files on its own too, counts them once."""
    main = "etc/php/8.2/fpm/php-fpm.conf"
    whole = _findings(oomaudit, ".", cwd=repo, ram="4G")
    assert ("FPM001", "etc/php/8.2/fpm/pool.d/zz-tuning.conf", 3) in whole
    assert not [f for f in whole if f[0] == "CONF001"]  # not a second pool without listen
    assert _findings(oomaudit, main, cwd=repo, ram="4G") == whole
    assert _findings(oomaudit, repo / main, cwd=repo, ram="4G") == whole
    assert _findings(oomaudit, main, "etc/php/8.2/fpm/pool.d/www.conf",
                     "etc/php/8.2/fpm/pool.d/zz-tuning.conf", cwd=repo, ram="4G") == whole


@pytest.mark.parametrize("repo", ["etc-tree"], indirect=True)
def test_include_the_tree_does_not_hold_stays_unresolved(oomaudit, repo):
    """A pool folder that is not in the repository is the host's business: not followed,
    so not "php-fpm refuses to start: No pool defined"."""
    shutil.rmtree(repo / "etc/php/8.2/fpm/pool.d")
    assert _findings(oomaudit, ".", cwd=repo, ram="4G") == set()


def test_ledger_counts_an_included_pool_once(oomaudit, tmp_path):
    shutil.copytree(REPOS / "etc-tree", tmp_path / "repo")
    proc = oomaudit("check", ".", "--ram", "64G", "--format", "json", cwd=tmp_path / "repo")
    ledger = [c for h in json.loads(proc.stdout)["hosts"] for c in h["ledger"]
              if c["service"] == "php-fpm"]
    assert [(c["bytes"], c["source"]) for c in ledger] == [
        (40 * (288 << 20), "etc/php/8.2/fpm/pool.d/zz-tuning.conf:3")]


@pytest.mark.parametrize("name", ["php-fpm.d/www.conf", "www.conf", "docker/php/www.conf"])
def test_pool_file_at_the_top_of_a_repository_is_read(oomaudit, tmp_path, name):
    """As pre-commit passes it: a sparse pool file is still a pool file (by its folder's
    name, or by its pm keys), judged as a fragment (no listen here: given elsewhere)."""
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("[www]\npm = static\npm.max_children = 200\npm.max_requests = 500\n")
    assert _findings(oomaudit, name, cwd=tmp_path, ram="2G") == {("FPM001", name, 3)}


@settings(max_examples=15, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(depth=st.integers(0, 6), absolute=st.booleans())
def test_same_findings_from_any_working_directory(oomaudit, tmp_path, depth, absolute):
    """cwd anywhere on the way from the repository down to the file; the file named by its
    absolute path or relative to that cwd: the same findings, and php.ini is found."""
    repo = tmp_path / "same"
    if not repo.exists():
        shutil.copytree(REPOS / "etc-tree", repo)
        (repo / ".git").mkdir()  # the work tree's top: what check may read in, from any cwd
    inside = Path("etc/php/8.2/fpm/pool.d/zz-tuning.conf")
    folders = [repo.joinpath(*inside.parts[:i]) for i in range(len(inside.parts))]
    cwd = folders[min(depth, len(folders) - 1)]
    target = repo / inside if absolute else (repo / inside).relative_to(cwd)
    proc = oomaudit("check", str(target), "--ram", "4G", "--format", "json", cwd=cwd)
    report = json.loads(proc.stdout)
    fpm = [f for f in report["findings"] if f["rule"] == "FPM001"]
    assert len(fpm) == 1 and "40 x 288.0 MiB" in fpm[0]["message"]
