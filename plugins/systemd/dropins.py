"""What every SYSTEMD finding's fix writes, a drop-in that wins over the unit's own files,
and the unit's files it lists as evidence.
"""
from __future__ import annotations

from oomaudit import Evidence
from oomaudit.parsers.systemd import TYPE_SECTIONS


def files_evidence(unit) -> list[Evidence]:
    found = [Evidence(f"unit {unit.name}" + (f" (alias {', '.join(unit.aliases)})"
                                             if unit.aliases else ""), unit.fragment.display)]
    found += [Evidence("drop-in", f.display) for f in unit.dropins]
    if not unit.dropins:
        found.append(Evidence("no drop-in applies to it"))
    return found


def dropin_fix(unit, key: str, *lines: str, name: str = "oom.conf") -> str:
    """Shell lines writing a drop-in that wins: named to sort after every drop-in that
    already sets ``key``. When the admin's own file in /etc sets it, edit that line."""
    current = unit.setting(key)
    if current is not None and current.file.inside.startswith("/etc/systemd/") and \
            len(lines) == 1:
        return (f"# in {current.file.inside}, line {current.assignment.line}:\n{lines[0]}\n"
                f"systemctl daemon-reload\nsystemctl restart {unit.name}")
    setters = sorted(f.basename for f in unit.dropins
                     if any(a.key == key for a in f.text.assignments))
    if any(b >= name for b in setters):
        name = f"zz-{name}"
    section = TYPE_SECTIONS.get(unit.kind, "Service")
    folder = f"/etc/systemd/system/{unit.name}.d"
    body = "\n".join((f"[{section}]", *lines))
    return (f"mkdir -p {folder}\n"
            f"cat > {folder}/{name} <<'EOF'\n{body}\nEOF\n"
            "systemctl daemon-reload\n"
            f"systemctl restart {unit.name}")
