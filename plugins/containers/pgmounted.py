"""A postgresql.conf bind-mounted into a PostgreSQL container (``-c config_file=PATH`` with
a volume at PATH, or a file at ``$PGDATA/postgresql.conf``): the server inside reads it, so
CONTAINER003 judges its whole worst case against the container's limit (shared_buffers
alone is a quarter of the story: connections x work_mem is the rest), read and summed by
the PostgreSQL plugin's code, the ``-c`` flags of the command line over the file."""
from __future__ import annotations

from oomaudit.plugins.postgresql.constants import READER

PGDATA = "/var/lib/postgresql/data"  # the official image's, unless PGDATA says otherwise
SHARE = 0.9  # of the limit: the rest for the postmaster, its page tables, the shell


def mounted_config(host, flags: list[tuple[str, object]], env: dict, mounts: list):
    """(setting as shown, worst case in bytes, compose file, line, share, spell) of the
    postgresql.conf mounted where the server reads it, or None. ``flags``: (``name=value``,
    Arg) of the command line's ``-c``/``--`` settings; ``spell`` gives the settings that fit
    a size."""
    settings = [(text.partition("=")[0].replace("-", "_").lower(), text.partition("=")[2])
                for text, _ in flags]
    named = [value for name, value in settings if name == "config_file"]
    data = env["PGDATA"].text if "PGDATA" in env else PGDATA
    wanted = named[-1] if named else f"{data.rstrip('/')}/postgresql.conf"
    mount = next((m for m in reversed(mounts) if m.target.rstrip("/") == wanted), None)
    if mount is None or not host.fs.is_file(mount.source):
        return None  # most projects: PostgreSQL's parsers are not imported
    from oomaudit.plugins.postgresql.worstcase import fit, sum_text, worst_case

    from oomaudit.parsers import pgcluster

    source = host.read(mount.source, READER, f"{mount.path}:{mount.line}")
    if source is None:
        return None
    overrides = tuple((name, value) for name, value in settings if name != "config_file")
    config = pgcluster.load(host, source, READER, overrides)
    if config.fatal:  # the server would not start: its CONF001 says why
        return None
    terms = worst_case(config)

    def spell(nbytes: int) -> str:
        lines = [line.split("#", 1)[0].strip() for line in fit(config, nbytes).splitlines()]
        return f"in {source.display}: {', '.join(line for line in lines if line) or 'as it is'}"

    return (f"{sum_text(terms)} ({source.display}, read as {mount.target})",
            sum(t.bytes for t in terms), mount.path, mount.line, SHARE, spell)
