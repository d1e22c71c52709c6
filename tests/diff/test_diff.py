"""``oomaudit diff`` on real git repositories: a commit that raises innodb_buffer_pool_size
is a new MYSQL001 and a bigger worst case (exit 1), one that lowers it a fix (exit 0);
BASE is read with git without touching the user's tree; the JSON validates against
oomaudit/diff.schema.json, and the markdown renders with GitHub's own cmark-gfm to what
the files said, never to markup they smuggled in."""
from __future__ import annotations

import html.parser
import json
import os
import re
from importlib import resources
from pathlib import Path

import jsonschema
import pytest
from conftest import assert_no_traceback
from git_repo import Repo
from hypothesis import given, settings
from hypothesis import strategies as st

PROFILE = """\
[[hosts]]
paths = ["hosts/db1/**"]
ram = "8GiB"
swap = "2GiB"
"""
MY_CNF = "hosts/db1/etc/mysql/my.cnf"


def my_cnf(pool: str) -> str:
    return (f"[mysqld]\n# the database server\ninnodb_buffer_pool_size = {pool}\n"
            "max_connections = 100\n")


@pytest.fixture
def repo(tmp_path) -> Repo:
    """main: an 8 GiB database host whose buffer pool is 4G (no finding)."""
    repo = Repo(tmp_path / "configs")
    repo.write(".oomaudit.toml", PROFILE)
    repo.write(MY_CNF, my_cnf("4G"))
    repo.write("README.md", "host configs\n")
    repo.commit("db1")
    return repo


def diff(oomaudit, repo: Repo, *args: str, env: dict | None = None, cwd: Path | None = None):
    proc = oomaudit("diff", *args, cwd=cwd or repo.path, env=env)
    assert_no_traceback(proc)
    return proc


def diff_json(oomaudit, repo: Repo, *args: str, **kwargs) -> tuple[dict, int]:
    proc = diff(oomaudit, repo, "--format", "json", *args, **kwargs)
    assert proc.returncode != 2, proc.stderr
    document = json.loads(proc.stdout)
    validate(document)
    assert document["summary"]["exit_code"] == proc.returncode
    return document, proc.returncode


def schema(name: str) -> dict:
    return json.loads(resources.files("oomaudit").joinpath(name).read_text(encoding="utf-8"))


def validate(document: dict) -> None:
    """Against diff.schema.json as installed, its findings against report.schema.json's."""
    from referencing import Registry, Resource

    report = schema("report.schema.json")
    registry = Registry().with_resource(report["$id"], Resource.from_contents(report))
    jsonschema.Draft202012Validator(
        schema("diff.schema.json"), registry=registry,
        format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(document)


# -- the done-when of issue 15 ------------------------------------------------------------

def test_raising_the_buffer_pool_is_a_new_finding_and_a_bigger_worst_case(oomaudit, repo):
    repo.git("checkout", "-q", "-b", "bigger-pool")
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("raise the buffer pool")
    proc = diff(oomaudit, repo)
    out = proc.stdout
    assert proc.returncode == 1, out + proc.stderr
    assert "(merge base of HEAD and main)" in out
    assert ("hosts/db1: worst case 4.6 GiB -> 7.6 GiB of 8.0 GiB RAM; "
            f"mysql +3.0 GiB from {MY_CNF}:4") in out, out
    assert re.search(rf"^  \+ {MY_CNF}:3: MYSQL001 high innodb_buffer_pool_size 7\.0 GiB is 88% "
                     "of RAM 8.0 GiB", out, re.M), out
    assert out.rstrip().endswith("1 finding added (1 high), 0 fixed; 1 of 1 host changed; "
                                 "1 added at or above 'low' (exit 1)"), out


def test_raising_it_in_json(oomaudit, repo):
    repo.write(MY_CNF, my_cnf("7G"))  # uncommitted: the working tree is what is audited
    document, code = diff_json(oomaudit, repo, "HEAD")
    assert code == 1
    assert document["base"] == {"commit": repo.git("rev-parse", "HEAD").strip(), "label": "HEAD"}
    assert document["targets"] == ["."] and document["configs"] == [".oomaudit.toml"]
    assert document["configs_changed"] == []
    (host,) = document["hosts"]
    assert host["name"] == "hosts/db1" and host["changed"]
    assert host["ram"]["value"] == 8 << 30
    before, after = host["worst_case"]["before"], host["worst_case"]["after"]
    assert after - before == 3 << 30 == host["worst_case"]["change"]
    (mysql,) = host["services"]
    assert mysql["service"] == "mysql" and (mysql["before"], mysql["after"]) == (before, after)
    assert mysql["sources"] == [f"{MY_CNF}:4"]
    (added,) = host["added"]
    assert (added["rule"], added["path"], added["line"]) == ("MYSQL001", MY_CNF, 3)
    assert host["fixed"] == []
    assert document["summary"] == {"added": 1, "fixed": 0, "failing": 1, "hosts_changed": 1,
                                   "exit_code": 1}


def test_lowering_it_is_a_fix_and_exits_0(oomaudit, repo):
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("a pool too big")
    repo.git("checkout", "-q", "-b", "smaller-pool")
    repo.write(MY_CNF, my_cnf("4G"))
    repo.commit("lower the buffer pool")
    proc = diff(oomaudit, repo)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "hosts/db1: worst case 7.6 GiB -> 4.6 GiB of 8.0 GiB RAM; " \
           f"mysql -3.0 GiB from {MY_CNF}:4" in proc.stdout
    assert re.search(rf"^  - {MY_CNF}:3: MYSQL001 high ", proc.stdout, re.M), proc.stdout
    document, code = diff_json(oomaudit, repo)
    assert code == 0 and [f["rule"] for f in document["hosts"][0]["fixed"]] == ["MYSQL001"]
    assert document["summary"]["added"] == 0 and document["summary"]["fixed"] == 1


# -- what is compared -----------------------------------------------------------------------

def test_a_finding_whose_line_moves_is_neither_added_nor_fixed(oomaudit, repo):
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("too big already")
    repo.write(MY_CNF, "# moved down by this comment\n" + my_cnf("7G"))
    document, code = diff_json(oomaudit, repo, "HEAD")
    assert code == 0
    assert document["summary"] == {"added": 0, "fixed": 0, "failing": 0, "hosts_changed": 0,
                                   "exit_code": 0}
    assert "1 host unchanged" in diff(oomaudit, repo, "HEAD").stdout


def test_fail_on_and_exit_zero(oomaudit, repo):
    repo.write(MY_CNF, my_cnf("7G"))
    assert diff(oomaudit, repo, "HEAD", "--fail-on", "critical").returncode == 0
    assert diff(oomaudit, repo, "HEAD", "--exit-zero").returncode == 0
    assert diff(oomaudit, repo, "HEAD", "--fail-on", "high").returncode == 1


def test_a_new_host_and_its_findings(oomaudit, repo):
    repo.write(".oomaudit.toml", PROFILE + '\n[[hosts]]\npaths = ["hosts/db2/**"]\nram = "4GiB"\n')
    repo.write("hosts/db2/etc/mysql/my.cnf", my_cnf("3G"))
    document, code = diff_json(oomaudit, repo, "HEAD")
    assert code == 1
    db2 = next(h for h in document["hosts"] if h["name"] == "hosts/db2")
    assert db2["worst_case"]["before"] is None and db2["worst_case"]["after"] > 3 << 30
    assert [f["rule"] for f in db2["added"]] == ["MYSQL001"]
    assert document["configs_changed"] == [".oomaudit.toml"]
    text = diff(oomaudit, repo, "HEAD").stdout
    assert "hosts/db2: worst case 3.6 GiB of 4.0 GiB RAM (a host BASE did not have)" in text, text
    assert "this change edits .oomaudit.toml" in text


def test_paths_are_relative_to_the_repository_root_from_any_folder(oomaudit, repo):
    repo.write(MY_CNF, my_cnf("7G"))
    document, _ = diff_json(oomaudit, repo, "HEAD", ".", cwd=repo.path / "hosts" / "db1")
    assert document["targets"] == ["hosts/db1"]
    assert document["hosts"][0]["added"][0]["path"] == MY_CNF
    document, _ = diff_json(oomaudit, repo, "HEAD", "db1", cwd=repo.path / "hosts")
    assert document["targets"] == ["hosts/db1"]


def test_a_path_new_since_base_has_every_finding_added(oomaudit, repo):
    repo.write("hosts/db1/etc/fstab", "UUID=1 / ext4 defaults 0 1\n")
    document, code = diff_json(oomaudit, repo, "HEAD", "hosts/db1/etc/fstab")
    assert code == 1
    assert [f["rule"] for f in document["hosts"][0]["added"]] == ["SWAP001"]


# -- the working tree's config judges both sides ----------------------------------------

def test_the_working_trees_config_judges_base_too(oomaudit, repo):
    """BASE has MYSQL001 under its 8 GiB profile; the change only raises the declared RAM.
    Judged each by its own config, the change would look like a fix: it is no change at
    all, and the edit of the config is named for review."""
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("too big")
    repo.write(".oomaudit.toml", PROFILE.replace("8GiB", "64GiB"))
    document, code = diff_json(oomaudit, repo, "HEAD")
    assert code == 0
    assert document["summary"]["fixed"] == 0 and document["summary"]["added"] == 0
    assert document["configs_changed"] == [".oomaudit.toml"]
    markdown = diff(oomaudit, repo, "HEAD", "--format", "markdown").stdout
    assert "**This change edits `.oomaudit.toml`**" in markdown


def test_a_config_in_the_temporary_folders_parent_governs_nothing(oomaudit, repo, tmp_path):
    """BASE is written below $TMPDIR; a pyproject.toml there (anyone's, in /tmp) must not
    judge BASE: were it read, BASE's MYSQL001 would be ignored and the fix not seen."""
    tmpdir = tmp_path / "shared-tmp"
    tmpdir.mkdir()
    (tmpdir / "pyproject.toml").write_text('[tool.oomaudit]\nignore = ["MYSQL"]\n')
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("too big")
    repo.write(MY_CNF, my_cnf("4G"))
    document, _ = diff_json(oomaudit, repo, "HEAD", env={"TMPDIR": str(tmpdir)})
    assert [f["rule"] for f in document["hosts"][0]["fixed"]] == ["MYSQL001"]
    assert sorted(p.name for p in tmpdir.iterdir()) == ["pyproject.toml"]  # nothing left


def test_a_config_above_the_repository_judges_both_sides(oomaudit, tmp_path):
    """The profile lives above the repository (paths relative to it): BASE's files are
    laid out at the same distance from a copy of it."""
    (tmp_path / ".oomaudit.toml").write_text(PROFILE.replace("hosts/db1", "configs/hosts/db1"))
    repo = Repo(tmp_path / "configs")
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("too big")
    repo.write(MY_CNF, my_cnf("4G"))
    document, _ = diff_json(oomaudit, repo, "HEAD")
    assert document["configs"] == [str(tmp_path / ".oomaudit.toml")]
    (host,) = document["hosts"]
    assert host["name"] == "configs/hosts/db1"
    assert [f["rule"] for f in host["fixed"]] == ["MYSQL001"]
    assert "/oomaudit-diff-" not in json.dumps(host["fixed"])  # BASE's paths read as ours


def test_config_named_with_dash_dash_config_inside_the_repository(oomaudit, repo):
    repo.write("ci/oomaudit.toml", PROFILE.replace("8GiB", "16GiB"))
    repo.write(MY_CNF, my_cnf("12G"))
    document, code = diff_json(oomaudit, repo, "HEAD", "--config", "ci/oomaudit.toml")
    assert code == 1 and document["configs"] == ["ci/oomaudit.toml"]
    assert document["hosts"][0]["ram"]["value"] == 16 << 30


# -- BASE is read, never checked out --------------------------------------------------------

def test_the_users_tree_index_and_refs_are_left_alone(oomaudit, repo, tmp_path):
    repo.write(MY_CNF, my_cnf("7G"))
    repo.git("add", MY_CNF)
    repo.write("notes.txt", "untracked\n")
    state = [repo.git(*args) for args in (("status", "--porcelain", "--untracked-files=all"),
                                          ("rev-parse", "HEAD"), ("worktree", "list"),
                                          ("stash", "list"), ("for-each-ref",))]
    index = (repo.path / ".git" / "index").read_bytes()
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    assert diff(oomaudit, repo, "HEAD", env={"TMPDIR": str(tmpdir)}).returncode == 1
    assert state == [repo.git(*args) for args in (("status", "--porcelain",
                                                    "--untracked-files=all"),
                                                   ("rev-parse", "HEAD"), ("worktree", "list"),
                                                   ("stash", "list"), ("for-each-ref",))]
    assert (repo.path / ".git" / "index").read_bytes() == index
    assert list(tmpdir.iterdir()) == []  # the BASE folder is gone


def test_export_ignore_does_not_hide_base_files(oomaudit, repo):
    """git archive would leave out export-ignore'd files: BASE is read with ls-tree."""
    repo.write(".gitattributes", "hosts/** export-ignore\n")
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("too big, and not exported")
    repo.write(MY_CNF, my_cnf("4G"))
    document, _ = diff_json(oomaudit, repo, "HEAD")
    assert [f["rule"] for f in document["hosts"][0]["fixed"]] == ["MYSQL001"]


def test_a_crafted_tree_cannot_write_outside_the_base_folder(oomaudit, repo, tmp_path):
    """A tree holding both a link ``hosts`` to a folder outside and ``hosts/...`` files
    (git never makes one; a crafted commit can): nothing is written through the link."""
    outside = tmp_path / "outside"
    outside.mkdir()
    link = _hash(repo, str(outside).encode())
    files = repo.git("rev-parse", "HEAD:hosts").strip()
    tree = _mktree(repo, [f"120000 blob {link}\thosts", f"040000 tree {files}\thosts",
                          f"100644 blob {_hash(repo, PROFILE.encode())}\t.oomaudit.toml"])
    commit = repo.git("commit-tree", tree, "-m", "crafted").strip()
    proc = diff(oomaudit, repo, commit)
    assert proc.returncode in (0, 1), proc.stderr
    assert list(outside.iterdir()) == []


def _hash(repo: Repo, data: bytes) -> str:
    import subprocess

    from git_repo import git_env
    return subprocess.run([repo.program, "hash-object", "-w", "--stdin"], input=data,
                          cwd=repo.path, env=git_env(), capture_output=True,
                          check=True).stdout.decode().strip()


def _mktree(repo: Repo, entries: list[str]) -> str:
    import subprocess

    from git_repo import git_env
    return subprocess.run([repo.program, "mktree", "--missing"], input="\n".join(entries) + "\n",
                          cwd=repo.path, env=git_env(), capture_output=True, text=True,
                          check=True).stdout.strip()


# -- the default BASE -------------------------------------------------------------------

def test_default_base_is_the_merge_base_with_origin_head(oomaudit, repo, tmp_path):
    clone = tmp_path / "clone"
    repo.git("clone", "-q", str(repo.path), str(clone))
    copy = Repo(clone, init=False)
    repo.write(MY_CNF, my_cnf("2G"))  # main moves on: the merge base stays where we forked
    repo.commit("upstream change")
    copy.git("checkout", "-q", "-b", "feature")
    copy.write(MY_CNF, my_cnf("7G"))
    copy.commit("raise")
    copy.git("fetch", "-q")
    document, code = diff_json(oomaudit, copy)
    assert code == 1
    assert document["base"]["label"] == "merge base of HEAD and origin/main"
    assert document["hosts"][0]["worst_case"]["change"] == 3 << 30


def test_default_base_falls_back_to_master(oomaudit, tmp_path):
    repo = Repo(tmp_path / "r", branch="master")
    repo.write(".oomaudit.toml", PROFILE)
    repo.write(MY_CNF, my_cnf("4G"))
    repo.commit()
    document, code = diff_json(oomaudit, repo)
    assert code == 0 and document["base"]["label"] == "merge base of HEAD and master"


# -- bad input: one line, exit 2 ----------------------------------------------------------------

@pytest.mark.parametrize("args, message", [
    (["no-such-rev"], "no-such-rev: neither a revision of "),
    (["--", "-x"], "'-x': a revision cannot start with '-'"),
    (["HEAD", "missing/"], "missing/: no such file or directory"),
    (["HEAD", "--format", "sarif"], "--format sarif: diff prints text, json, markdown"),
    (["HEAD", "--statistics"], "--statistics: diff lists what a change adds and fixes"),
])
def test_bad_arguments(oomaudit, repo, args, message):
    proc = diff(oomaudit, repo, *args)
    assert proc.returncode == 2 and proc.stdout == ""
    (line,) = proc.stderr.splitlines()
    assert line.startswith("oomaudit: error: ") and message in line, line


def test_not_a_repository(oomaudit, tmp_path):
    proc = oomaudit("diff", cwd=tmp_path)
    assert proc.returncode == 2 and "not inside a git repository" in proc.stderr
    assert len(proc.stderr.splitlines()) == 1


def test_no_commit_and_no_default_branch(oomaudit, tmp_path):
    repo = Repo(tmp_path / "empty", branch="trunk")
    proc = diff(oomaudit, repo)
    assert proc.returncode == 2 and "has no commit yet" in proc.stderr
    repo.commit("first")
    proc = diff(oomaudit, repo)
    assert proc.returncode == 2 and "no default branch" in proc.stderr
    assert diff(oomaudit, repo, "trunk").returncode == 0


def test_a_path_outside_the_repository(oomaudit, repo, tmp_path):
    (tmp_path / "elsewhere").mkdir()
    proc = diff(oomaudit, repo, "HEAD", ".", str(tmp_path / "elsewhere"))
    assert proc.returncode == 2 and "outside the repository" in proc.stderr


def test_a_name_both_a_branch_and_a_folder(oomaudit, repo):
    repo.git("branch", "hosts")
    proc = diff(oomaudit, repo, "hosts")
    assert proc.returncode == 2 and "both a revision and a path" in proc.stderr
    assert diff(oomaudit, repo, "HEAD", "./hosts").returncode == 0


# -- hostile names in every view ----------------------------------------------------------------

HOSTILE = "db\x1b[2J<img src=x onerror=alert(1)>|@admins [x](https:e.invalid) `*_"


def test_hostile_names_are_escaped_in_every_view(oomaudit, repo):
    repo.write(f"hosts/db1/{HOSTILE}/my.cnf", my_cnf("7G"))
    proc = diff(oomaudit, repo, "HEAD")
    assert proc.returncode == 1 and "\x1b" not in proc.stdout
    assert "db\\x1b[2J<img" in proc.stdout
    document, _ = diff_json(oomaudit, repo, "HEAD")
    added = {f["rule"]: f for f in document["hosts"][0]["added"]}
    assert added["MYSQL001"]["path"] == f"hosts/db1/{HOSTILE}/my.cnf"  # JSON: as it is
    markdown = diff(oomaudit, repo, "HEAD", "--format", "markdown").stdout
    rendered = render(markdown)
    assert "<img" not in rendered and "<a " not in rendered and "\x1b" not in rendered
    assert rendered.count("<td") == 5  # one row of five cells: the pipe split none
    outside_code = re.sub(r"<code>.*?</code>", "", rendered, flags=re.S)
    assert "@admins" not in outside_code and "@admins" in rendered  # no mention


def render(markdown: str) -> str:
    cmarkgfm = pytest.importorskip("cmarkgfm", reason="GitHub's markdown renderer (test extra)")
    return cmarkgfm.github_flavored_markdown_to_html(markdown)


class _Text(html.parser.HTMLParser):
    """The text of rendered HTML, and which elements it holds."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.text, self.tags = [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)

    def handle_data(self, data):
        self.text.append(data)


def rendered_text(markdown: str) -> tuple[str, list[str]]:
    parser = _Text()
    parser.feed(render(markdown))
    return "".join(parser.text).strip(), parser.tags


def one_line(value: str) -> str:
    from oomaudit.host import terminal
    return " ".join(terminal(value).split())


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40) | \
    st.text(alphabet="\\`*_{}[]()#+-.!|<>&~:@ \t\nab1<>/=\"'", max_size=30)


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_md_text_renders_to_what_it_was_given(value):
    from oomaudit.diffview import md_text

    text, tags = rendered_text(md_text(value))
    assert tags in ([], ["p"])
    assert text.replace("\u200b", "") == one_line(value).strip()


@settings(max_examples=300, deadline=None)
@given(TEXT)
def test_md_code_renders_to_what_it_was_given(value):
    from oomaudit.diffview import md_code

    text, tags = rendered_text("x " + md_code(value))
    assert tags == ["p", "code"]
    assert text == "x " + (one_line(value) or " ").strip() or text == "x"


@settings(max_examples=300, deadline=None)
@given(TEXT, TEXT)
def test_md_code_in_a_table_cell_stays_in_its_cell(first, second):
    from oomaudit.diffview import md_code

    table = (f"| a | b |\n| --- | --- |\n| {md_code(first, True)} | {md_code(second, True)} |\n")
    html_text = render(table)
    cells = re.findall(r"<td>(.*?)</td>", html_text, re.S)
    assert len(cells) == 2, html_text
    for cell, value in zip(cells, (first, second), strict=True):
        parser = _Text()
        parser.feed(cell)
        assert parser.tags == ["code"]
        assert "".join(parser.text).strip() == one_line(value).strip()


def test_markdown_of_a_raised_pool(oomaudit, repo):
    repo.write(MY_CNF, my_cnf("7G"))
    markdown = diff(oomaudit, repo, "HEAD", "--format", "markdown").stdout
    assert markdown.startswith("### oomaudit: 1 finding added, 0 fixed\n")
    html_text = render(markdown)
    assert re.search(r"<td><code>mysql</code></td>\s*<td align=\"right\">4\.6 GiB</td>\s*"
                     r"<td align=\"right\">7\.6 GiB</td>\s*<td align=\"right\">\+3\.0 GiB</td>"
                     rf"\s*<td><code>{MY_CNF}:4</code></td>", html_text), html_text
    assert f"<strong>high</strong> <code>MYSQL001</code> at <code>{MY_CNF}:3</code>" in html_text
    assert "<strong>This change fails the audit</strong>" in html_text


def test_environment_of_git_is_fixed(oomaudit, repo, tmp_path):
    """A GIT_DIR or GIT_INDEX_FILE in the environment (a hook sets them) changes nothing."""
    repo.write(MY_CNF, my_cnf("7G"))
    env = {"GIT_DIR": str(tmp_path / "nowhere"), "GIT_INDEX_FILE": str(tmp_path / "idx"),
           "GIT_WORK_TREE": str(tmp_path)}
    document, code = diff_json(oomaudit, repo, "HEAD", env=env)
    assert code == 1 and document["root"] == os.path.realpath(repo.path)


def test_readme_example_is_what_diff_prints(oomaudit, repo):
    from conftest import REPO

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    example = re.search(r"^```text\n\$ oomaudit diff\n(.*?)^```$", readme, re.M | re.S).group(1)
    repo.git("checkout", "-q", "-b", "bigger-pool")
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("raise the buffer pool")
    out = diff(oomaudit, repo).stdout
    out = re.sub(r"^oomaudit diff: [0-9a-f]{12} ", "oomaudit diff: 5f1e0c8a9b2d ", out)
    assert out.replace(os.path.realpath(repo.path), "/src/configs") == example


def test_a_link_that_leaves_the_repository_reads_the_same_file_on_both_sides(oomaudit, repo,
                                                                            tmp_path):
    """hosts/db1/.../my.cnf -> ../../../../../shared/my.cnf: at BASE it must not point beside
    the temporary folder (nothing there, or anyone's file in /tmp), but where it points from
    the working tree."""
    (tmp_path / "shared").mkdir()
    (tmp_path / "shared" / "my.cnf").write_text(my_cnf("7G"))
    (repo.path / MY_CNF).unlink()
    (repo.path / MY_CNF).symlink_to("../../../../../shared/my.cnf")
    repo.commit("the server's file lives beside the repository")
    document, code = diff_json(oomaudit, repo, "HEAD")
    assert code == 0 and document["summary"]["hosts_changed"] == 0, document


def test_a_shallow_clone_says_so(oomaudit, repo, tmp_path):
    repo.git("checkout", "-q", "-b", "feature")
    repo.write(MY_CNF, my_cnf("7G"))
    repo.commit("raise")
    repo.git("checkout", "-q", "main")
    repo.git("clone", "-q", "--depth", "1", "--branch", "feature",
             f"file://{repo.path}", str(tmp_path / "shallow"))
    shallow = Repo(tmp_path / "shallow", init=False)
    proc = diff(oomaudit, shallow)
    assert proc.returncode == 2 and "the clone is shallow" in proc.stderr, proc.stderr
    proc = diff(oomaudit, shallow, "main")
    assert proc.returncode == 2 and "the clone is shallow" in proc.stderr, proc.stderr
