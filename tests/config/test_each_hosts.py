"""``[[hosts]] each = "hosts/*"``: one table for a fleet of host folders, each folder its own
host named after it, the table's values as defaults and the folder's facts.json over them;
and the host-profile index, which must pick the table a first-match scan would pick."""
from __future__ import annotations

import fnmatch
import json
from pathlib import Path

from engine_stub import json_report
from hypothesis import given, settings
from hypothesis import strategies as st

from oomaudit.profiles import HostProfile, ProfileIndex

MY_CNF = "[mysqld]\ninnodb_buffer_pool_size = {pool}M\nmax_connections = {conns}\n"
FSTAB = "UUID=0a1b-{n} / ext4 errors=remount-ro 0 1\n/swapfile none swap sw 0 0\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def facts_with_ram(oomaudit, tmp_path: Path, ram: int) -> str:
    """What ``oomaudit facts`` wrote on a host, with the RAM a test wants."""
    proc = oomaudit("facts", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    data["ram"]["value"] = ram
    return json.dumps(data)


def fleet(oomaudit, tmp_path: Path, hosts: int) -> tuple[Path, list[str]]:
    """A repository of ``hosts`` folders laid out like their hosts' /etc: a MySQL server
    whose worst case fits some RAM and not other, an fstab, and on every tenth host the
    facts `oomaudit facts` measured there (1 GiB)."""
    repo = tmp_path / "repo"
    facts = facts_with_ram(oomaudit, tmp_path, 1 << 30)
    names = []
    for n in range(hosts):
        name = f"host{n:03d}"
        names.append(name)
        write(repo / f"hosts/{name}/etc/mysql/my.cnf",
              MY_CNF.format(pool=256 * (1 + n % 12), conns=50 + n))
        write(repo / f"hosts/{name}/etc/fstab", FSTAB.format(n=n))
        if n % 10 == 3:
            write(repo / f"hosts/{name}/facts.json", facts)
    write(repo / "README.md", "the fleet\n")
    return repo, names


def report_of(oomaudit, repo: Path) -> dict:
    proc = oomaudit("check", ".", "--format", "json", cwd=repo)
    report = json_report(proc)
    assert not report["errors"], report["errors"]
    return report


def comparable(report: dict, config: Path) -> dict:
    """The report without the one thing that must differ: the config line a host's facts
    name as their source (one table, or that host's own)."""
    text = json.dumps({k: report[k] for k in ("findings", "hosts", "notices", "rules")})
    for n in range(len(config.read_text().splitlines()), 0, -1):
        text = text.replace(f"{config}:{n}", f"{config}:LINE")
    return json.loads(text)


def test_one_each_table_gives_the_findings_of_a_table_per_host(oomaudit, tmp_path):
    """Issue 18.6's done-when: 100 host folders, one `each` table against 100 explicit
    [[hosts]] tables (each with its folder's facts file where there is one)."""
    repo, names = fleet(oomaudit, tmp_path, 100)
    config = repo / ".oomaudit.toml"
    config.write_text('[[hosts]]\neach = "hosts/*"\nram = "4GiB"\nswap = "1GiB"\n')
    each = report_of(oomaudit, repo)
    config.write_text("".join(
        f'[[hosts]]\npaths = ["hosts/{name}/**"]\nram = "4GiB"\nswap = "1GiB"\n'
        + (f'facts = "hosts/{name}/facts.json"\n' if (repo / f"hosts/{name}/facts.json")
           .exists() else "") + "\n" for name in names))
    explicit = report_of(oomaudit, repo)
    assert comparable(each, config) == comparable(explicit, config)
    # and it is a fleet: a host per folder, each judged on its own RAM
    assert [h["name"] for h in each["hosts"]] == [f"hosts/{name}" for name in names]
    rams = {h["name"]: h["facts"]["ram"]["value"] for h in each["hosts"]}
    assert rams["hosts/host003"] == 1 << 30 and rams["hosts/host004"] == 4 << 30
    assert {f["host"] for f in each["findings"] if f["rule"] == "MYSQL001"} >= {
        "hosts/host003", "hosts/host011"}


def test_each_host_is_named_after_its_folder_with_the_tables_values(oomaudit, tmp_path):
    repo = tmp_path / "repo"
    write(repo / ".oomaudit.toml", '[[hosts]]\npaths = ["hosts/db9/**"]\nram = "32G"\n\n'
                                   '[[hosts]]\neach = "hosts/*"\nram = "2G"\nrole = "web"\n')
    write(repo / "hosts/db9/etc/mysql/my.cnf", MY_CNF.format(pool=4096, conns=10))
    write(repo / "hosts/web1/etc/mysql/my.cnf", MY_CNF.format(pool=4096, conns=10))
    write(repo / "hosts/notes.cnf", MY_CNF.format(pool=4096, conns=10))  # in no host folder
    report = report_of(oomaudit, repo)
    facts = {h["name"]: h["facts"] for h in report["hosts"]}
    assert set(facts) == {"hosts/db9", "hosts/web1", "default"}  # the first table wins
    config = repo / ".oomaudit.toml"
    assert facts["hosts/web1"]["ram"] == {
        "value": 2 << 30, "source": f"host profile 'hosts/web1' {config}:5"}
    assert facts["hosts/db9"]["ram"]["value"] == 32 << 30 and facts["default"] == {}
    mysql = {f["host"] for f in report["findings"] if f["rule"] == "MYSQL001"}
    assert mysql == {"hosts/web1"}  # 4 GiB of buffers: above 2 GiB, not 32


def test_each_reads_the_facts_file_the_table_names(oomaudit, tmp_path):
    repo = tmp_path / "repo"
    write(repo / ".oomaudit.toml",
          '[[hosts]]\neach = "dc/*/hosts/*"\nram = "64G"\nfacts = "measured/facts.json"\n')
    write(repo / "dc/eu/hosts/a/etc/mysql/my.cnf", MY_CNF.format(pool=4096, conns=10))
    write(repo / "dc/eu/hosts/a/measured/facts.json", facts_with_ram(oomaudit, tmp_path, 1 << 30))
    write(repo / "dc/us/hosts/b/etc/mysql/my.cnf", MY_CNF.format(pool=4096, conns=10))
    report = report_of(oomaudit, repo)
    rams = {h["name"]: h["facts"]["ram"] for h in report["hosts"]}
    assert rams["dc/eu/hosts/a"]["value"] == 1 << 30
    assert "measured/facts.json" in rams["dc/eu/hosts/a"]["source"]
    assert rams["dc/us/hosts/b"]["value"] == 64 << 30


# -- the index picks what trying every table in order picks ------------------------------

def first_match(profiles: list[HostProfile], rel: str) -> HostProfile | None:
    for profile in profiles:
        if profile.each:
            host = profile.host_in(rel, lambda path: False)
            if host is not None:
                return host
        elif profile.matches(rel):
            return profile
    return None


NAME = st.sampled_from(["hosts", "db1", "db12", "web", "a", "etc"])
GLOB = NAME | st.sampled_from(["*", "db*", "?eb", "[dw]*", "**"])


@settings(max_examples=300, deadline=None)
@given(tables=st.lists(st.tuples(st.booleans(), st.lists(GLOB, min_size=1, max_size=3),
                                 st.sampled_from(["", "/**", "/*", "*"])), min_size=1,
                       max_size=6),
       paths=st.lists(st.lists(NAME, min_size=1, max_size=4), min_size=1, max_size=8))
def test_the_index_finds_the_first_table_that_claims_a_file(tables, paths):
    profiles = []
    for n, (each, parts, tail) in enumerate(tables):
        pattern = "/".join(parts)
        if each and "**" not in parts:
            profiles.append(HostProfile(f"each{n}", [], None, None, f"x:{n}",
                                        facts=Path("facts.json"), each=pattern,
                                        base=Path("/repo")))
        else:
            profiles.append(HostProfile(f"t{n}", [pattern + tail], None, None, f"x:{n}"))
    index = ProfileIndex(profiles, "/repo", lambda path: False)
    for parts in paths:
        rel = "/".join(parts)
        want, got = first_match(profiles, rel), index.find(rel)
        assert (want and want.name) == (got and got.name), (rel, [p.paths or p.each
                                                                  for p in profiles])
    assert fnmatch.fnmatchcase("a/b", "*")  # fnmatch's * crosses /: what the index relies on


def test_host_trees_in_one_host_get_a_notice_naming_the_each_table(oomaudit, tmp_path):
    """Without a [[hosts]] table a fleet's folders are one host, judged with one RAM: the
    notice names the each table that makes them hosts of their own, and with that table
    written as it says, the run has a host per folder and no notice."""
    repo, names = fleet(oomaudit, tmp_path, 3)
    said = [n for n in report_of(oomaudit, repo)["notices"] if "host trees" in n]
    assert said == ["host 'default' holds 3 host trees (hosts/host000/, hosts/host001/, "
                    "hosts/host002/): judged as one machine, one RAM for all and every "
                    'service summed; if they are several machines, [[hosts]] each = "hosts/*" '
                    "in a .oomaudit.toml in the working directory makes each folder a host of "
                    "its own"]
    (repo / ".oomaudit.toml").write_text('[[hosts]]\neach = "hosts/*"\nram = "4GiB"\n')
    report = report_of(oomaudit, repo)
    assert [h["name"] for h in report["hosts"]] == [f"hosts/{name}" for name in names]
    assert not [n for n in report["notices"] if "host trees" in n]


def test_one_host_tree_or_trees_inside_each_other_name_no_each_table(oomaudit, tmp_path):
    repo, _ = fleet(oomaudit, tmp_path, 1)
    assert not [n for n in report_of(oomaudit, repo)["notices"] if "host trees" in n]
    write(repo / "etc/fstab", FSTAB.format(n=9))  # the repository's root is a tree too
    (said,) = [n for n in report_of(oomaudit, repo)["notices"] if "host trees" in n]
    assert said.endswith("a [[hosts]] table for each judges each on its own")


def test_a_folder_name_that_would_not_paste_is_not_written_as_a_pattern(oomaudit, tmp_path):
    """Folder names are the repository's: one with a quote or a control character in it
    gets the advice without a pattern, not a TOML line it would break."""
    repo = tmp_path / "repo"
    for name in ("a", "b"):
        write(repo / f'ho"s\x1bts/{name}/etc/fstab', FSTAB.format(n=1))
    (said,) = [n for n in report_of(oomaudit, repo)["notices"] if "host trees" in n]
    assert said.endswith("a [[hosts]] table for each judges each on its own")


def test_trees_deeper_than_one_folder_level_name_no_each_table(oomaudit, tmp_path):
    """An Ansible repository's roles/NAME/files/etc/ are trees too, but roles are no hosts:
    each = "roles/*" would be wrong advice, so the notice names no pattern."""
    repo = tmp_path / "repo"
    write(repo / "roles/mysql/files/etc/mysql/my.cnf", MY_CNF.format(pool=256, conns=50))
    write(repo / "roles/base/files/etc/fstab", FSTAB.format(n=1))
    (said,) = [n for n in report_of(oomaudit, repo)["notices"] if "host trees" in n]
    assert "each =" not in said and said.endswith("a [[hosts]] table for each judges each "
                                                  "on its own")


# -- a named file's host is read whole (pre-commit names only the staged files) ----------

POOL = "[www]\nlisten = /run/php/www.sock\npm = static\npm.max_children = {children}\n"


def web_fleet(tmp_path: Path, config: str) -> Path:
    """Two hosts with a MySQL server and a PHP-FPM pool each: the pool alone fits the RAM,
    the pool beside the server does not."""
    repo = tmp_path / "repo"
    for name in ("web1", "web2"):
        write(repo / f"hosts/{name}/etc/mysql/my.cnf", "[mysqld]\ninnodb_buffer_pool_size = 3G\n")
        write(repo / f"hosts/{name}/etc/php/8.2/fpm/pool.d/www.conf", POOL.format(children=20))
    write(repo / ".oomaudit.toml", config)
    return repo


def verdicts(report: dict, host: str) -> list[tuple]:
    return sorted((f["rule"], f["path"], f["line"], f["message"]) for f in report["findings"]
                  if f["host"] == host)


def check_named(oomaudit, repo: Path, *names: str) -> dict:
    report = json_report(oomaudit("check", *names, "--format", "json", cwd=repo))
    assert not report["errors"], report["errors"]
    return report


def test_a_named_file_is_judged_with_the_rest_of_its_host(oomaudit, tmp_path):
    """Naming only the staged pool file must give its host the verdicts `check .` gives it:
    the pool (3.1 GiB) fits 4 GiB alone, not beside the host's MySQL (3.7 GiB)."""
    repo = web_fleet(tmp_path, '[[hosts]]\neach = "hosts/*"\nram = "4GiB"\n')
    whole = report_of(oomaudit, repo)
    named = check_named(oomaudit, repo, "hosts/web1/etc/php/8.2/fpm/pool.d/www.conf")
    assert [h["name"] for h in named["hosts"]] == ["hosts/web1"]  # web2: not named
    assert verdicts(named, "hosts/web1") == verdicts(whole, "hosts/web1")
    assert {"FPM001", "HOST002"} <= {f["rule"] for f in named["findings"]}
    assert "host 'hosts/web1' read whole for the files named (1 more file): a host's " \
           "verdicts weigh every file its [[hosts]] table gives it" in named["notices"]


def test_a_host_is_read_whole_only_as_its_table_and_config_claim_it(oomaudit, tmp_path):
    """A paths table's folder is walked, yet a file an earlier table claims, or one below a
    config of its own, is not its host's; two named hosts whose folders overlap each keep
    every file of theirs."""
    repo = web_fleet(tmp_path, '[[hosts]]\nname = "two"\npaths = ["hosts/web2/**"]\n'
                               'ram = "8GiB"\n\n[[hosts]]\nname = "all"\npaths = ["hosts/**"]\n'
                               'ram = "4GiB"\n')
    write(repo / "hosts/web1/sub/.oomaudit.toml", "")
    write(repo / "hosts/web1/sub/etc/fstab", FSTAB.format(n=1))
    whole = report_of(oomaudit, repo)
    named = check_named(oomaudit, repo, "hosts/web1/etc/mysql/my.cnf",
                        "hosts/web2/etc/mysql/my.cnf")
    hosts = {h["name"]: h for h in named["hosts"]}
    assert set(hosts) == {"all", "two"}  # not the sub-config's host
    for host in ("all", "two"):
        assert verdicts(named, host) == verdicts(whole, host)
        assert len(hosts[host]["ledger"]) == len({h["name"]: h for h in whole["hosts"]}[host]
                                                  ["ledger"]) == 2


def test_files_no_table_claims_are_judged_as_named(oomaudit, tmp_path):
    """Without a table, which files make the host is what the command names: nothing more
    is read, and no notice says otherwise."""
    repo = web_fleet(tmp_path, "")
    named = check_named(oomaudit, repo, "hosts/web1/etc/php/8.2/fpm/pool.d/www.conf")
    (host,) = named["hosts"]
    assert [c["service"] for c in host["ledger"]] == ["php-fpm"]
    assert not [n for n in named["notices"] if "read whole" in n]


def test_a_folder_facts_file_that_is_none_is_its_hosts_finding(oomaudit, tmp_path):
    """A fleet folder's facts.json is the repository's content: one that is not JSON is a
    CONF003 of its host, judged with the table's values, and every other host is audited
    (it was a usage error that stopped the whole run)."""
    repo, names = fleet(oomaudit, tmp_path, 4)
    (repo / ".oomaudit.toml").write_text('[[hosts]]\neach = "hosts/*"\nram = "4GiB"\n')
    write(repo / "hosts/host001/facts.json", '{"tool": {"name": "oomaudit"')
    report = report_of(oomaudit, repo)
    assert [h["name"] for h in report["hosts"]] == [f"hosts/{name}" for name in names]
    (conf,) = [f for f in report["findings"] if f["rule"] == "CONF003"]
    assert (conf["host"], conf["path"]) == ("hosts/host001", "hosts/host001/facts.json")
    assert conf["message"].startswith("could not read hosts/host001/facts.json: not JSON (")
    assert conf["message"].endswith("judged with the table's values")
    ram = {h["name"]: h["facts"]["ram"] for h in report["hosts"]}
    assert ram["hosts/host001"]["value"] == 4 << 30 and "host profile" in \
        ram["hosts/host001"]["source"]
    assert ram["hosts/host003"]["value"] == 1 << 30  # its own facts.json, read as ever


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from(["a", "b", "a-b", "ab", "c"]), min_size=1,
                         max_size=4).map("/".join), max_size=12))
def test_each_folder_of_the_named_hosts_is_walked_once(folders):
    """The folders walked for named hosts: every one given is kept or inside a kept one, and
    none kept is inside another (a file is walked once, however many hosts' folders hold
    it)."""
    from oomaudit.discovery import _outermost

    kept = _outermost(folders)

    def inside(folder, other):
        return folder == other or folder.startswith(other + "/")
    assert all(any(inside(f, k) for k in kept) for f in folders)
    assert not [(k, j) for k in kept for j in kept if k != j and inside(k, j)]
    assert len(set(kept)) == len(kept)


def test_a_folder_facts_name_that_is_no_file_is_its_hosts_finding(oomaudit, tmp_path):
    """A ``facts.json`` that is a folder, or a link to nothing, was passed by as if the
    folder had none (the look followed the name); the host was judged with the table's
    RAM and nobody was told that its measured facts were not used."""
    repo, names = fleet(oomaudit, tmp_path, 4)
    (repo / ".oomaudit.toml").write_text('[[hosts]]\neach = "hosts/*"\nram = "4GiB"\n')
    (repo / "hosts/host001/facts.json").mkdir()
    (repo / "hosts/host002/facts.json").symlink_to("measured/facts.json")
    report = report_of(oomaudit, repo)
    confs = {f["host"]: f for f in report["findings"] if f["rule"] == "CONF003"}
    assert set(confs) == {"hosts/host001", "hosts/host002"}
    for host, conf in confs.items():
        assert conf["path"] == f"{host}/facts.json"
        assert conf["message"].startswith(f"could not read {host}/facts.json: ")
        assert conf["message"].endswith("judged with the table's values")
    ram = {h["name"]: h["facts"]["ram"] for h in report["hosts"]}
    assert ram["hosts/host001"]["value"] == ram["hosts/host002"]["value"] == 4 << 30
    assert ram["hosts/host003"]["value"] == 1 << 30
