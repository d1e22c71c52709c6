"""SYSCTL001-SYSCTL005: each policy a host has (live, persisted, or one file's) judged,
with the fix written where the audited system keeps the setting."""
from __future__ import annotations

from oomaudit import Evidence, Finding
from oomaudit.host import FILES
from oomaudit.parsers import sysctl as fmt
from oomaudit.parsers.sysctl import PROCPS, SYSTEMD, display_name
from oomaudit.record import Record
from oomaudit.snippets import snippet
from oomaudit.units import format_size

from .kernel import (
    KBYTES,
    MODE,
    PANIC,
    POLICY,
    RATIO,
    Memory,
    Policy,
    Setting,
    commit_limit,
    live_meminfo,
    memory_for,
    replay,
)
from .policies import Persisted, live_policy, persisted

DROP_IN = "/etc/sysctl.d/90-oom.conf"


class Scenario(Record):
    """One policy to judge: the live values, the persisted ones, or one file's."""

    def __init__(self, label: str, policy: Policy, note: str = "", live: bool = False):
        self.label = label  # "live", "persisted" or "file"
        self.policy = policy
        self.note = note  # said in the evidence (e.g. why a file is judged alone)
        self.live = live


def scenarios(host) -> list[Scenario]:
    """The policies the five rules judge, built once per host (each file of a repository
    merged and replayed alone), not once per rule."""
    if "sysctl.scenarios" not in host.cache:
        host.cache["sysctl.scenarios"] = _scenarios(host)
    return host.cache["sysctl.scenarios"]


def _scenarios(host) -> list[Scenario]:
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
                            host.ledger.summary()))
        if scenario.live:
            info = live_meminfo(host) or {}
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
        return snippet(f"raise the ratio so that CommitLimit covers {format_size(need)}, in "
                       f"{{file}}:\nvm.overcommit_ratio = {ratio}\n"
                       f"then apply it: sysctl -w vm.overcommit_ratio={ratio}", file=where)
    missing = need - usable - memory.swap.value
    return snippet(f"even 100% of RAM cannot cover {format_size(need)}: add at least "
                   f"{format_size(max(missing, 0))} of swap, or return to the heuristic mode in "
                   "{file}:\nvm.overcommit_memory = 0", file=_file_of(host, policy[MODE]))


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
                fix=snippet(f"to keep {{now}}, persist it in {DROP_IN}:\n{name} = {{now}}\n"
                            "or, to return to the default now: sysctl -w {setting:sh}",
                            now=now, setting=f"{name}={saved.value}"),
                key=name)
        else:
            yield Finding(
                "SYSCTL004", f"{name} is {now} now but the files set {saved.value}: changed by "
                "hand since boot, or the files were never applied", saved.origin.file,
                saved.origin.assignment.line, evidence,
                fix=snippet("apply the files now: sysctl --system (or sysctl -w {setting:sh});\n"
                            f"or, if {{now}} is right, write it in {{file}}:\n{name} = {{now}}",
                            setting=f"{name}={saved.value}", now=now,
                            file=_file_of(host, saved)), key=name)


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
            fix=snippet(f"set {name} in one file under /etc/sysctl.d/ that both read the same "
                        f"way, e.g. {DROP_IN}:\n{name} = {{value}}\nand keep /etc/sysctl.d/"
                "99-sysctl.conf a symlink to ../sysctl.conf (systemd reads /etc/sysctl.conf "
                        "only through it; procps reads it last, after every sysctl.d file)",
                        value=at_boot.value),
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
