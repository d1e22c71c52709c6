"""What the userspace-OOM-killer plugin's registration and its code modules both need: the
plugin's name, the earlyoom reader and the flags earlyoom takes. Imports nothing of the
code modules."""
from __future__ import annotations

from oomaudit import Reader

PLUGIN = "oomkillers"
PACKAGE = "oomaudit.plugins.oomkillers"
EARLYOOM = "earlyoom"  # the reader's format
NOHANG = "nohang"  # the nohang.conf reader's format
SYSTEMD = "systemd"  # the systemd plugin's unit format, whose enabled units USERKILL004 reads
VARIABLE = "EARLYOOM_ARGS"  # what earlyoom.service passes as ExecStart=... $EARLYOOM_ARGS

# earlyoom's options as its getopt_long reads them: flag -> (takes a value, first version).
# tests/oomkillers/test_earlyoom_oracle.py checks each one up to the installed earlyoom
# against its --help.
FLAGS = {
    "-m": (True, "1.0"), "-s": (True, "1.0"), "-M": (True, "1.0"), "-S": (True, "1.0"),
    "-n": (False, "1.0"), "-N": (True, "1.6"), "-g": (False, "1.7"), "-d": (False, "1.0"),
    "-v": (False, "1.0"), "-r": (True, "1.2"), "-p": (False, "1.2"), "-h": (False, "1.0"),
    "--help": (False, "1.0"), "--prefer": (True, "1.2"), "--avoid": (True, "1.2"),
    "--dryrun": (False, "1.3"), "--ignore": (True, "1.8"), "--ignore-root-user": (False, "1.8"),
    "--sort-by-rss": (False, "1.8"), "-i": (False, "1.0"),
}

# the units of the userspace OOM killers -> the killer (a socket starts systemd-oomd too)
KILLER_UNITS = {
    "systemd-oomd.service": "systemd-oomd", "systemd-oomd.socket": "systemd-oomd",
    "earlyoom.service": "earlyoom", "nohang.service": "nohang",
    "nohang-desktop.service": "nohang",
}

READER = Reader(
    name=EARLYOOM, parse=f"{PACKAGE}.earlyoom:parse",
    # Debian's and Fedora's earlyoom.service: EnvironmentFile=-/etc/default/earlyoom
    system_paths=("/etc/default/earlyoom",),
    file_patterns=("earlyoom", "*/default/earlyoom"),
    comment_prefixes=("#", ";"),
)

NOHANG_READER = Reader(
    name=NOHANG, parse=f"{PACKAGE}.nohang:parse",
    # nohang.service: --config /etc/nohang/nohang.conf; nohang-desktop.service the other
    system_paths=("/etc/nohang/nohang.conf", "/etc/nohang/nohang-desktop.conf"),
    file_patterns=("nohang.conf", "nohang-desktop.conf"),
)
