"""nginx's configurations: the reader's document (a file, its includes not yet followed)
and each main file with its includes, built once every file of the run has been found."""
from __future__ import annotations

from oomaudit.enabled import files_in_force
from oomaudit.parsers import nginx
from oomaudit.parsers.nginx import NginxConfig
from oomaudit.record import Record

from .constants import PLUGIN, READER


class NginxFile(Record):
    """The file; includes are followed once every file of the run has been found."""

    def __init__(self, source: object):
        self.source = source


def configs(host) -> list[NginxConfig]:
    """Every nginx main file of the host with its includes, once per run; a file another
    one includes is part of that configuration. Of a repository's Debian
    ``sites-available/``, only what ``sites-enabled/`` links is in force
    (``oomaudit.enabled``), and a file given twice (the link and its target) is read once."""
    if "nginx" not in host.cache:
        loader = nginx.Loader(host, READER)
        sources = {doc.source.path: doc.source for doc in host.documents(PLUGIN)}
        loaded = [loader.load(sources[path])
                  for path in files_in_force(host.fs, sources, ("nginx.conf",))]
        included = {id(s) for c in loaded for s in c.files[1:]}
        host.cache["nginx"] = [c for c in loaded if id(c.source) not in included]
    return host.cache["nginx"]
