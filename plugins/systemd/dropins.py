"""What every SYSTEMD finding's fix writes, a drop-in that wins over the unit's own files,
and the unit's files it lists as evidence.
"""
from __future__ import annotations

from oomaudit import Evidence
from oomaudit.parsers.systemd import TYPE_SECTIONS
from oomaudit.snippets import snippet


def files_evidence(unit) -> list[Evidence]:
    found = [Evidence(f"unit {unit.name}" + (f" (alias {', '.join(unit.aliases)})"
                                             if unit.aliases else ""), unit.fragment.display)]
    found += [Evidence("drop-in", f.display) for f in unit.dropins]
    if not unit.dropins:
        found.append(Evidence("no drop-in applies to it"))
    return found


def dropin_fix(unit, key: str, *lines: str, name: str = "oom.conf") -> str:
    """Shell lines writing a drop-in that wins: named to sort after every drop-in that
    already sets ``key``. When the admin's own file in /etc sets it, edit that line.
    ``lines`` are the drop-in's (``Key=value``), each one line (``oomaudit.snippets``)."""
    current = unit.setting(key)
    if current is not None and current.file.inside.startswith("/etc/systemd/") and \
            len(lines) == 1:
        return snippet(f"# in {{file}}, line {current.assignment.line}:\n{{line}}\n"
                       "systemctl daemon-reload\nsystemctl restart {unit:sh}",
                       file=current.file.inside, line=lines[0], unit=unit.name)
    setters = sorted(f.basename for f in unit.dropins
                     if any(a.key == key for a in f.text.assignments))
    if any(b >= name for b in setters):
        name = f"zz-{name}"
    section = TYPE_SECTIONS.get(unit.kind, "Service")
    folder = f"/etc/systemd/system/{unit.name}.d"
    body = {f"line{i}": line for i, line in enumerate(lines)}  # a field each: one line each
    return snippet(f"mkdir -p {{folder:sh}}\ncat > {{file:sh}} <<'EOF'\n[{section}]\n"
                   + "".join(f"{{{field}}}\n" for field in body)
                   + "EOF\nsystemctl daemon-reload\nsystemctl restart {unit:sh}",
                   folder=folder, file=f"{folder}/{name}", unit=unit.name, **body)
