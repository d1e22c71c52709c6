"""systemd unit names: a name's type and template, the drop-in folders that apply to it,
the unit a file belongs to by its path, and the folders units are looked for in.

Pure string work, shared by the unit model (:mod:`oomaudit.parsers.systemd_units`), both
merges and the plugin's reader, which reads each file as the unit type its path names.
"""
from __future__ import annotations

import re

from .systemd import UNIT_TYPES

# The order systemd looks in: the first folder holding a name wins.
SEARCH_PATH = (
    "/etc/systemd/system.control", "/run/systemd/system.control", "/run/systemd/transient",
    "/run/systemd/generator.early", "/etc/systemd/system", "/etc/systemd/system.attached",
    "/run/systemd/system", "/run/systemd/system.attached", "/run/systemd/generator",
    "/usr/local/lib/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system",
    "/run/systemd/generator.late",
)
UNIT_NAME_MAX = 256  # unit-name.h: a name of this many bytes or more is refused
_STEM = re.compile(r"[A-Za-z0-9:_.\\@-]+")  # VALID_CHARS and "@", before the last dot
PLAIN, INSTANCE, TEMPLATE = "plain", "instance", "template"


def name_form(name: str) -> str | None:
    """What systemd's ``unit_name_is_valid`` (src/basic/unit-name.c) sorts ``name`` into:
    ``plain`` (``foo.service``), ``instance`` (``foo@bar.service``) or ``template``
    (``foo@.service``); None for a name it refuses. The type is what follows the *last*
    dot, the instance what lies between the *first* ``@`` and that dot, so ``a@..service``
    is an instance (``.``) of ``a@.service`` and ``a@b@c.service`` one (``b@c``) of
    ``a@.service``; a name needs a character before its type's dot and may not start with
    ``@``."""
    stem, dot, kind = name.rpartition(".")
    if not stem or kind not in UNIT_TYPES or len(name.encode("utf-8", "surrogateescape")) \
            >= UNIT_NAME_MAX or not _STEM.fullmatch(stem):
        return None
    at = stem.find("@")
    if at < 0:
        return PLAIN
    if at == 0:
        return None
    return TEMPLATE if at == len(stem) - 1 else INSTANCE


def unit_type(name: str) -> str | None:
    """The type of a name systemd accepts (``service``, ``socket``, ...), else None."""
    return name.rpartition(".")[2] if name_form(name) else None


def template_of(name: str) -> str | None:
    """The template an instance is made from (unit_name_template):
    ``postgresql@15-main.service`` -> ``postgresql@.service``; None for other names."""
    if name_form(name) != INSTANCE:
        return None
    return f"{name.partition('@')[0]}@.{name.rpartition('.')[2]}"


def dropin_owners(name: str) -> list[str]:
    """The ``X`` of every ``X.d/`` directory whose drop-ins apply to unit ``name``: the name,
    its template, its dash prefixes (systemd's unit_file_find_dirs) and the bare type."""
    kind = str(unit_type(name))
    owners = [name]
    template = template_of(name)
    if template:
        owners.append(template)
    prefix = name.partition("@")[0] if "@" in name else name.rsplit(".", 1)[0]
    while True:
        chopped = False
        while True:
            dash = prefix.rfind("-")
            if dash <= 0:
                return [*owners, kind]
            if dash + 1 < len(prefix) or chopped:
                break
            prefix, chopped = prefix[:dash], True  # a trailing dash is chopped, once
        prefix = prefix[:dash + 1]
        owners.append(f"{prefix}.{kind}")


DROPIN = re.compile(r"(?:^|/)([^/]+)\.d/[^/]+\.conf$")


def logical_path(relpath: str) -> str:
    """A flattened name (``etc__systemd__system__x.service.d__y.conf``) read as the path it
    stands for; a real path is returned as it is."""
    folder, _, base = relpath.rpartition("/")
    if "__" not in base:
        return relpath
    return f"{folder}/{base.replace('__', '/')}" if folder else base.replace("__", "/")


def owner_of(path: str) -> str:
    """The unit a file belongs to by its (logical) path: ``X`` for ``.../X.d/y.conf``, else
    the file's own name."""
    m = DROPIN.search(path)
    return m.group(1) if m else path.rsplit("/", 1)[-1]
