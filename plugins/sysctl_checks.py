"""SYSCTL001-SYSCTL005 and the policy table: the code behind ``sysctl.py``, which
registers it and says which program's merge counts as persisted. Imported only when
there is something to check.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple

from oomaudit import Evidence, Finding, MissingFact, Severity
from oomaudit.host import FILES, Fact, Table
from oomaudit.parsers import sysctl as fmt
from oomaudit.parsers.sysctl import PROCPS, SYSTEMD, Merged, Origin, display_name
from oomaudit.record import Record
from oomaudit.rootfs import resolve_in_root
from oomaudit.units import format_size

from .sysctl import READER

DIRS = ("/etc/sysctl.d", "/run/sysctl.d", "/usr/local/lib/sysctl.d", "/usr/lib/sysctl.d",
        "/lib/sysctl.d")
SYSCTL_CONF = "/etc/sysctl.conf"
MODE, RATIO, KBYTES, PANIC, HUGEPAGES = ("vm/overcommit_memory", "vm/overcommit_ratio",
                                         "vm/overcommit_kbytes", "vm/panic_on_oom",
                                         "vm/nr_hugepages")
# key -> (lowest, highest accepted, kernel default); the kernel rejects values outside
_LIMITS = {MODE: (0, 2, 0), RATIO: (-(1 << 31), (1 << 31) - 1, 50), KBYTES: (0, (1 << 64) - 1, 0),
           PANIC: (0, 2, 0), HUGEPAGES: (0, (1 << 64) - 1, 0)}
POLICY = (MODE, RATIO, KBYTES, PANIC)
PAGE = 4096
HUGE_PAGE = 2 << 20  # x86-64's default huge page size, for trees (live: /proc/meminfo)
DROP_IN = "/etc/sysctl.d/90-oom.conf"


class SysctlDoc(Record):
    """What the ``sysctl`` reader's parse() gives: the file and its assignments in both
    dialects. Its problems (unusable lines, values the kernel rejects) are already CONF001
    findings of ``source``."""

    def __init__(self, source: object, file: fmt.SysctlFile):
        self.source = source  # oomaudit.Source
        self.file = file


def parse(source) -> SysctlDoc:
    doc = SysctlDoc(source, fmt.parse_sysctl(source.text))
    for problem in doc.file.problems:
        source.problem("CONF001", problem.line, problem.message,
                       key=source.line_text(problem.line))  # no setting: the line
    for a in doc.file.assignments[PROCPS]:
        if a.value is not None and "#" in a.value:
            _inline_hash(source, a)
        elif a.value is not None and a.key in _LIMITS and _kernel_value(a.key, a.value) is None:
            low, high, _ = _LIMITS[a.key]
            source.problem("CONF001", a.line, f"the kernel rejects {a.value!r} for {a.name} "
                           f"(an integer {low}..{high}): the write fails and the setting keeps "
                           "its previous value", fix=f"{a.name} = {_LIMITS[a.key][2]}",
                           key=a.name)
    return doc


def _inline_hash(source, a) -> None:
    """'#' only starts a comment at the start of a line; after a value it is data."""
    accepted = _kernel_value(a.key, a.value) if a.key in _LIMITS else None
    if a.key in _LIMITS and accepted is None:
        what, severity = ("the kernel rejects it: the write fails and the setting keeps its "
                          "previous value"), None
    elif a.key in _LIMITS:
        what, severity = (f"the kernel reads {accepted} and ignores the text after the blank, "
                          "but '2#x' without a blank would be rejected"), Severity.LOW
    else:
        what, severity = ("an integer setting ignores text after a blank, a text setting "
                          "keeps it"), Severity.LOW
    value = a.value.split("#", 1)[0].strip()
    source.problems.append(Finding(
        "CONF001", f"'#' after a value is not a comment in sysctl files: {a.name} is written "
                   f"as {a.value!r}; {what}", source.display, a.line,
        [Evidence(f"{a.written} = {a.value}", f"{source.display}:{a.line}")],
        fix=f"move the comment to its own line:\n# {a.value.split('#', 1)[1].strip()}\n"
            f"{a.name} = {value}", severity=severity, key=a.name))


def _kernel_value(key: str, value: str) -> int | None:
    number = fmt.kernel_int(value)
    low, high, _ = _LIMITS[key]
    if number is None:
        return None
    if key in (KBYTES, HUGEPAGES) and number < 0:
        return number  # unsigned: a negative value is skipped without an error
    return number if low <= number <= high else None


# --- the persisted policy --------------------------------------------------------------

class Setting(Record):
    """A kernel setting's value after the files were applied (or as /proc/sys holds
    it) and the assignment that gave it; a zeroed one's ``origin`` is its partner's write."""

    def __init__(self, value: int, origin: Origin | None, zeroed: bool = False):
        self.value = value
        self.origin = origin  # None: the kernel default (or live)
        self.zeroed = zeroed  # set to 0 by the kernel when its partner was written

    @property
    def where(self) -> str:
        if self.origin is None:
            return "kernel default, no file sets it"
        if self.zeroed:
            return f"zeroed by the kernel when {self.origin.assignment.name} was written at " \
                   f"{self.origin.where}"
        return self.origin.where


class Policy(Record):
    """The values the kernel ends up with after one program applied the files."""

    def __init__(self, settings: dict[str, Setting],
                 written: dict[str, list[Origin]] | None = None, kbytes_last: bool = False):
        self.settings = settings
        self.written = {} if written is None else written  # accepted writes per key
        self.kbytes_last = kbytes_last  # kbytes written after ratio (the kernel zeroes the other)

    def __getitem__(self, key: str) -> Setting:
        return self.settings[key]


def replay(merged: Merged) -> Policy:
    """Apply ``merged``'s writes to a fresh kernel: defaults, rejected values, and the
    coupling of overcommit_ratio and overcommit_kbytes (writing one zeroes the other)."""
    policy = Policy({k: Setting(v[2], None) for k, v in _LIMITS.items()})
    for origin in merged.writes:
        a = origin.assignment
        for key in _LIMITS:
            if a.is_glob:
                hit = fmt.matches(a.key, key) and not merged.glob_blocked(key)
            else:
                hit = a.key == key
            number = _kernel_value(key, a.value) if hit else None
            if number is None:  # not this key, or rejected (CONF001 names the line)
                continue
            policy.written.setdefault(key, []).append(origin)
            if number >= 0 or key not in (KBYTES, HUGEPAGES):
                policy.settings[key] = Setting(number, origin)
            if key == KBYTES:
                policy.settings[RATIO] = Setting(0, origin, zeroed=True)
                policy.kbytes_last = True
            elif key == RATIO:
                policy.settings[KBYTES] = Setting(0, origin, zeroed=True)
                policy.kbytes_last = False
    return policy


class Persisted(Record):
    """The host's sysctl files merged as each program applies them (procps'
    ``sysctl --system`` and systemd-sysctl), by dialect, and which of the two runs at boot."""

    def __init__(self, merged: dict[str, Merged], policies: dict[str, Policy], boot: str,
                 why: str):
        self.merged = merged  # dialect -> merge
        self.policies = policies
        self.boot = boot  # the dialect that applies the files at boot
        self.why = why  # how we know


def _docs_by_path(host) -> dict[Path, SysctlDoc | None]:
    return {d.source.path: d for d in host.documents("sysctl")}


def _load(host, real: Path, known: dict[Path, SysctlDoc | None]) -> SysctlDoc | None:
    """The parsed file, parsed once (and an unreadable one noted once) for both merges."""
    if real not in known:
        source = host.read(real, READER)
        known[real] = parse(source) if source is not None else None
    return known[real]


def file_order(host) -> dict[str, list[tuple[str, Path]]]:
    """Per dialect, the files in reading order: (path as the host names it, real path or
    None when masked).

    Names from every directory are merged and sorted; a name in an earlier directory
    shadows the same name later. procps also reads hidden ``.x.conf`` files and then
    /etc/sysctl.conf; systemd-sysctl does neither. A /dev/null symlink reads as empty.
    """
    order: dict[str, dict[str, tuple[str, Path | None]]] = {PROCPS: {}, SYSTEMD: {}}
    seen: set[Path] = set()
    null = resolve_in_root(host.root, "/dev/null")
    for folder in DIRS:
        real_dir = _resolve(host, folder)
        if real_dir is None or real_dir in seen or not real_dir.is_dir():
            continue
        seen.add(real_dir)
        try:
            names = os.listdir(real_dir)
        except OSError as exc:
            shown = host.display(real_dir)
            if isinstance(exc, PermissionError):
                host.note_denied(shown)
            else:
                host.note_unreadable(shown, exc.strerror or str(exc), shown)
            continue
        for name in names:
            if len(name) < 5 or not name.endswith(".conf"):
                continue
            inside = f"{folder}/{name}"
            real = _resolve(host, inside)
            real = None if real == null else real  # masked: read as empty
            order[PROCPS].setdefault(name, (inside, real))
            if not name.startswith(".") and not (real_dir / name).is_dir():
                order[SYSTEMD].setdefault(name, (inside, real))
    result = {d: [order[d][n] for n in sorted(order[d], key=os.fsencode)]
              for d in fmt.DIALECTS}
    conf = _resolve(host, SYSCTL_CONF)
    if conf is not None and conf.is_file():
        result[PROCPS].append((SYSCTL_CONF, conf))
    return result


def _resolve(host, inside: str) -> Path | None:
    """The real path of ``inside`` on this host; None (and CONF003) for a symlink loop."""
    try:
        return resolve_in_root(host.root, inside)
    except OSError as exc:
        host.note_unreadable(inside, exc.strerror or str(exc), inside)
        return None


def boot_dialect(host) -> tuple[str, str]:
    """Which program applies the files at boot, and how we know."""
    if host.live:
        try:
            init = Path("/proc/1/comm").read_text().strip()
        except OSError:
            init = "unknown"
        if init == "systemd":
            return SYSTEMD, "PID 1 is systemd: systemd-sysctl applies them at boot"
        return PROCPS, (f"PID 1 is {init}, not systemd: compared as 'sysctl --system' "
                        "reads them")
    for path in ("/usr/lib/systemd/systemd-sysctl", "/lib/systemd/systemd-sysctl"):
        if resolve_in_root(host.root, path).exists():
            return SYSTEMD, f"the tree ships {path}: systemd-sysctl applies them at boot"
    return PROCPS, "no systemd-sysctl in the tree: 'sysctl --system' applies them"


def persisted(host) -> Persisted | None:
    """Both programs' merge of the host's sysctl files (None for ``check``: no host)."""
    if host.mode == FILES or host.root is None:
        return None
    if "sysctl" not in host.cache:
        known = _docs_by_path(host)
        merged, policies = {}, {}
        for dialect, files in file_order(host).items():
            loaded = []
            for _inside, real in files:
                doc = _load(host, real, known) if real else None
                if doc is not None:
                    loaded.append((doc.source.display, doc.file))
            merged[dialect] = fmt.merge(loaded, dialect)
            policies[dialect] = replay(merged[dialect])
        boot, why = boot_dialect(host)
        host.cache["sysctl"] = Persisted(merged, policies, boot, why)
    return host.cache["sysctl"]


def live_policy(host) -> Policy | None:
    """The values in /proc/sys now (live scans only)."""
    if not host.live:
        return None
    if "sysctl_live" not in host.cache:
        settings = {}
        for key in _LIMITS:
            try:
                settings[key] = Setting(int(Path("/proc/sys", key).read_text().split()[0]),
                                        None)
            except (OSError, ValueError, IndexError) as exc:
                host.note_unreadable(f"live: /proc/sys/{key}", str(exc))
                host.cache["sysctl_live"] = None
                return None
        host.cache["sysctl_live"] = Policy(settings)
    return host.cache["sysctl_live"]


# --- the kernel's arithmetic -------------------------------------------------------------

class Memory(NamedTuple):
    """What CommitLimit is computed from, each with its source."""

    ram: Fact
    huge: Fact
    swap: Fact
    page: int = PAGE


def commit_limit(memory: Memory, ratio: int, kbytes: int) -> tuple[int, str]:
    """mm/util.c vm_commit_limit(), in pages like the kernel, returned in bytes:
    overcommit_kbytes (when non-zero) or (RAM - huge pages) x overcommit_ratio / 100,
    plus swap."""
    page = memory.page
    swap_pages = memory.swap.value // page
    if kbytes:
        pages = kbytes * 1024 // page
        how = (f"vm.overcommit_kbytes {kbytes} ({format_size(pages * page)}) + "
               f"swap {format_size(memory.swap.value)}")
    else:
        pages = (memory.ram.value // page - memory.huge.value // page) * ratio // 100
        how = (f"(RAM {format_size(memory.ram.value)} - huge pages "
               f"{format_size(memory.huge.value)}) x {ratio}% + swap "
               f"{format_size(memory.swap.value)}")
    return (pages + swap_pages) * page, how


def _meminfo(host) -> dict[str, int] | None:
    """/proc/meminfo of a live host, read once per run by the memory plugin; None otherwise
    (the memory plugin's checks are imported only for a live host)."""
    if not host.live:
        return None
    from oomaudit.plugins.memory_checks import meminfo

    return meminfo(host)


def memory_for(host, policy: Policy) -> Memory:
    """RAM, huge pages and swap as the kernel counts them: /proc/meminfo live, declared
    facts (and vm.nr_hugepages from the files) otherwise."""
    info = _meminfo(host)
    if info:
        huge = info.get("Hugetlb", info.get("HugePages_Total", 0) * info.get("Hugepagesize", 0))
        return Memory(Fact(info["MemTotal"], "live: /proc/meminfo MemTotal"),
                      Fact(huge, "live: /proc/meminfo Hugetlb"),
                      Fact(info.get("SwapTotal", 0), "live: /proc/meminfo SwapTotal"),
                      os.sysconf("SC_PAGE_SIZE"))
    ram = host.require("ram")
    swap = host.fact("swap") or Fact(0, "swap not declared: taken as 0 (declare --swap)")
    nr = policy[HUGEPAGES]
    huge = Fact(nr.value * HUGE_PAGE, f"vm.nr_hugepages = {nr.value} x 2 MiB ({nr.where})")
    return Memory(ram, huge, swap)


# --- rules ---------------------------------------------------------------------------------

class Scenario(Record):
    """One policy to judge: the live values, the persisted ones, or one file's."""

    def __init__(self, label: str, policy: Policy, note: str = "", live: bool = False):
        self.label = label  # "live", "persisted" or "file"
        self.policy = policy
        self.note = note  # said in the evidence (e.g. why a file is judged alone)
        self.live = live


def scenarios(host) -> list[Scenario]:
    if host.mode == FILES:
        note = ("checked on its own: 'oomaudit check' cannot know which other sysctl files "
                "the host reads, nor their order")
        return [Scenario("file", replay(fmt.merge([(d.source.display, d.file)], PROCPS)), note)
                for d in host.documents("sysctl")]
    state = persisted(host)
    live = live_policy(host)
    if live is not None:
        return [Scenario("live", live, live=True)]
    return [Scenario("persisted", state.policies[state.boot], state.why)]


def inside(host, display: str) -> str:
    """The path the audited system uses for a file findings show as ``display`` (a fix
    says ``/etc/sysctl.d/90-oom.conf``, not where the tree sits on this machine)."""
    return next((s.inside for s in host.sources.values() if s.display == display and s.inside),
                display)


def _setting_evidence(scenario: Scenario, key: str) -> Evidence:
    s = scenario.policy[key]
    if scenario.live:
        return Evidence(f"{display_name(key)} = {s.value}", f"live: /proc/sys/{key}")
    return Evidence(f"{display_name(key)} = {s.value}", s.where)


def _locate(scenario: Scenario, key: str) -> tuple[str | None, int | None]:
    origin = scenario.policy[key].origin
    return (origin.file, origin.assignment.line) if origin and not scenario.live else (None, None)


def check_sysctl001(host):
    for scenario in scenarios(host):
        policy = scenario.policy
        if policy[MODE].value != 2:
            continue
        memory = memory_for(host, policy)
        limit, how = commit_limit(memory, policy[RATIO].value, policy[KBYTES].value)
        demands = []
        if host.ledger.consumers:
            demands.append((host.ledger.total(), "the services' worst case",
                            [Evidence(f"{c.service}: {format_size(c.bytes)} = {c.how}", c.source)
                             for c in host.ledger.consumers]))
        if scenario.live:
            info = _meminfo(host) or {}
            if "Committed_AS" in info:
                demands.append((info["Committed_AS"], "memory committed now (Committed_AS)",
                                [Evidence(f"Committed_AS = {format_size(info['Committed_AS'])}",
                                          "live: /proc/meminfo")]))
        short = [(n, what, ev) for n, what, ev in demands if limit < n]
        if not short:
            continue
        need, what, evidence = max(short)
        path, line = _locate(scenario, MODE)
        fix = _commit_fix(host, memory, need, policy)
        yield Finding(
            "SYSCTL001",
            f"vm.overcommit_memory = 2 caps committed memory at CommitLimit {format_size(limit)}"
            f", below {what} {format_size(need)}: allocations beyond it fail (malloc returns "
            "NULL, fork fails)", path, line,
            [_setting_evidence(scenario, MODE), _setting_evidence(scenario, RATIO),
             _setting_evidence(scenario, KBYTES),
             Evidence(f"RAM = {format_size(memory.ram.value)}", memory.ram.source),
             Evidence(f"huge pages = {format_size(memory.huge.value)}", memory.huge.source),
             Evidence(f"swap = {format_size(memory.swap.value)}", memory.swap.source),
             Evidence(f"CommitLimit = {how} = {format_size(limit)}", "mm/util.c vm_commit_limit"),
             *evidence, *([Evidence(scenario.note)] if scenario.note else [])],
            fix=fix, key=display_name(MODE))


def _file_of(host, setting: Setting) -> str:
    return inside(host, setting.origin.file) if setting.origin else DROP_IN


def _commit_fix(host, memory: Memory, need: int, policy: Policy) -> str:
    usable = memory.ram.value - memory.huge.value
    ratio = -(-(need - memory.swap.value) * 100 // usable) if usable > 0 else 101
    where = _file_of(host, policy[RATIO])
    if 0 < ratio <= 100:
        return (f"raise the ratio so that CommitLimit covers {format_size(need)}, in {where}:\n"
                f"vm.overcommit_ratio = {ratio}\n"
                f"then apply it: sysctl -w vm.overcommit_ratio={ratio}")
    missing = need - usable - memory.swap.value
    return (f"even 100% of RAM cannot cover {format_size(need)}: add at least "
            f"{format_size(max(missing, 0))} of swap, or return to the heuristic mode in "
            f"{_file_of(host, policy[MODE])}:\n"
            "vm.overcommit_memory = 0")


def _simple_rule(rule: str, key: str, bad, message, fix: str):
    def check(host):
        for scenario in scenarios(host):
            value = scenario.policy[key].value
            if not bad(value):
                continue
            path, line = _locate(scenario, key)
            note = [Evidence(scenario.note)] if scenario.note else []
            yield Finding(rule, message(value), path, line,
                          [_setting_evidence(scenario, key), *note], fix=fix,
                          key=display_name(key))
    return check


check_sysctl002 = _simple_rule(
    "SYSCTL002", MODE, lambda v: v == 1,
    lambda v: "vm.overcommit_memory = 1: every allocation succeeds, the OOM killer is the only "
              "guard against running out of memory",
    "unless a service needs it (Redis fork snapshots, some JVMs), return to the default in "
    f"{DROP_IN}:\nvm.overcommit_memory = 0\nthen: sysctl -w vm.overcommit_memory=0")

check_sysctl003 = _simple_rule(
    "SYSCTL003", PANIC, lambda v: v in (1, 2),
    lambda v: f"vm.panic_on_oom = {v}: the whole host panics instead of the OOM killer "
              "killing one process" + (" (even for a cgroup or cpuset OOM)" if v == 2 else ""),
    f"in {DROP_IN}:\nvm.panic_on_oom = 0\nthen: sysctl -w vm.panic_on_oom=0")


def check_sysctl004(host):
    state = persisted(host)
    if state is None:
        return
    yield from _tool_divergence(state)
    live = live_policy(host)
    if live is None:
        return
    boot = state.policies[state.boot]
    for key in POLICY:
        now, saved = live[key].value, boot[key]
        if now == saved.value:
            continue
        name = display_name(key)
        evidence = [Evidence(f"{name} = {now}", f"live: /proc/sys/{key}"),
                    Evidence(f"{name} = {saved.value} persisted", saved.where),
                    Evidence(state.why)]
        if saved.origin is None:
            yield Finding(
                "SYSCTL004", f"{name} is {now} now but no sysctl file sets it: set by hand, "
                f"it returns to {saved.value} at the next boot", evidence=evidence,
                fix=f"to keep {now}, persist it in {DROP_IN}:\n{name} = {now}\n"
                    f"or, to return to the default now: sysctl -w {name}={saved.value}",
                key=name)
        else:
            yield Finding(
                "SYSCTL004", f"{name} is {now} now but the files set {saved.value}: changed by "
                "hand since boot, or the files were never applied", saved.origin.file,
                saved.origin.assignment.line, evidence,
                fix=f"apply the files now: sysctl --system (or sysctl -w {name}={saved.value});"
                    f"\nor, if {now} is right, write it in {_file_of(host, saved)}:\n"
                    f"{name} = {now}", key=name)


def _tool_divergence(state: Persisted):
    procps, systemd = state.policies[PROCPS], state.policies[SYSTEMD]
    for key in POLICY:
        a, b = procps[key], systemd[key]
        if a.value == b.value:
            continue
        name = display_name(key)
        at_boot = b if state.boot == SYSTEMD else a
        where = at_boot.origin or a.origin or b.origin
        yield Finding(
            "SYSCTL004", f"{name} depends on the program that applies the files: "
            f"'sysctl --system' sets {a.value}, systemd-sysctl (boot) sets {b.value}",
            where.file if where else None, where.assignment.line if where else None,
            [Evidence(f"sysctl --system: {name} = {a.value}", a.where),
             Evidence(f"systemd-sysctl: {name} = {b.value}", b.where), Evidence(state.why)],
            fix=f"set {name} in one file under /etc/sysctl.d/ that both read the same way, "
                f"e.g. {DROP_IN}:\n{name} = {at_boot.value}\nand keep /etc/sysctl.d/"
                "99-sysctl.conf a symlink to ../sysctl.conf (systemd reads /etc/sysctl.conf "
                "only through it; procps reads it last, after every sysctl.d file)",
            key=f"{name} (sysctl --system or systemd-sysctl)")


def check_sysctl005(host):
    for scenario in scenarios(host):
        if scenario.live:
            state = persisted(host)
            scenario = Scenario("persisted", state.policies[state.boot], state.why)
        policy = scenario.policy
        set_ratio = policy.written.get(RATIO, [])
        set_kbytes = policy.written.get(KBYTES, [])
        note = [Evidence(scenario.note)] if scenario.note else []
        if set_ratio and set_kbytes:
            wins, loses = (KBYTES, RATIO) if policy.kbytes_last else (RATIO, KBYTES)
            origin = policy[wins].origin
            yield Finding(
                "SYSCTL005", f"both vm.overcommit_ratio and vm.overcommit_kbytes are set: "
                f"writing one zeroes the other, so {display_name(wins)} (written last) "
                f"counts and {display_name(loses)} is 0", origin.file, origin.assignment.line,
                [Evidence(f"{o.assignment.written} = {o.assignment.value}", o.where)
                 for o in set_ratio + set_kbytes] + note,
                fix=f"keep one of them; delete the {display_name(loses)} line",
                key=f"{display_name(RATIO)} and {display_name(KBYTES)}")
        mode = policy[MODE].value
        if mode != 2 and (set_ratio or set_kbytes):
            origin = (set_ratio or set_kbytes)[-1]
            yield Finding(
                "SYSCTL005", f"{origin.assignment.name} is set but vm.overcommit_memory = "
                f"{mode}: the commit limit is only enforced in mode 2, so it has no effect",
                origin.file, origin.assignment.line,
                [Evidence(f"{origin.assignment.written} = {origin.assignment.value}",
                          origin.where), _setting_evidence(scenario, MODE), *note],
                fix="delete the line, or set vm.overcommit_memory = 2 if strict accounting "
                    "is what you meant (see SYSCTL001 for the arithmetic)",
                key=origin.assignment.name)


# --- the report view -------------------------------------------------------------------

def budget(host):
    """The policy table: each setting with its source, and CommitLimit computed."""
    state = persisted(host)
    if state is None:
        return
    live = live_policy(host)
    policy = live if live is not None else state.policies[state.boot]
    boot = state.policies[state.boot]
    rows = []
    for key in POLICY:  # each value also a host fact: what `oomaudit facts` writes
        host.facts[display_name(key)] = Fact(policy[key].value, f"live: /proc/sys/{key}"
                                             if live is not None else boot[key].where)
        if live is not None:
            rows.append([display_name(key), policy[key].value, f"live: /proc/sys/{key}",
                         f"{boot[key].value} ({boot[key].where})"])
        else:
            rows.append([display_name(key), policy[key].value, boot[key].where])
    try:
        memory = memory_for(host, boot)
    except MissingFact:  # the RAM of a tree nobody declared
        memory = None
    if memory is not None:
        limit, how = commit_limit(memory, policy[RATIO].value, policy[KBYTES].value)
        host.facts["commit_limit"] = Fact(limit, f"computed: {how}")
        rows.append(["CommitLimit (computed)", format_size(limit), how])
        info = _meminfo(host)
        for field_name in ("CommitLimit", "Committed_AS"):
            if info and field_name in info:
                rows.append([f"{field_name} (kernel)", format_size(info[field_name]),
                             "live: /proc/meminfo"])
    rows.append(["applied at boot by", state.boot, state.why])
    columns = ["setting", "value", "source"] + (["persisted"] if live is not None else [])
    for row in rows:
        row.extend([""] * (len(columns) - len(row)))
    host.tables["sysctl_policy"] = Table("Kernel memory policy (sysctl)", columns, rows)
