"""Safe output (issue 12.4) through every --format of one real run: file and folder names
that are not UTF-8 and hold control characters (ESC, C0, the bidi override), a tree root so
named, values with escape sequences, a compose service named with them. Text, GitHub
annotations and Prometheus carry no raw control character; JSON, SARIF and GitLab are strict
UTF-8 without a lone surrogate (undecodable bytes are U+FFFD), valid against their schemas;
JUnit is XML 1.0 that a parser and junitparser read. The hostile names do reach each report
(escaped), so a format that dropped them would not pass for a safe one."""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from xml.etree import ElementTree

import jsonschema
import pytest
from conftest import assert_no_traceback, need_shared
from junitparser import JUnitXml

FORMATS = ("text", "json", "junit", "sarif", "github", "gitlab", "prometheus")
# C0 but tab and newline, DEL, C1, and the marks that reorder a line
RAW = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
SURROGATE = re.compile("[\ud800-\udfff]")
# not UTF-8, ESC, a C0 control, RIGHT-TO-LEFT OVERRIDE (no glob character: see the report)
NAME = b"tr\xff\x1b\x01\xe2\x80\xaeee"
SHOWN = "tr\ufffd\\x1b\\x01\\u202eee"  # as the text report shows it


def _tree(root: Path) -> None:
    root = os.fsencode(root)

    def write(path: bytes, data: bytes) -> None:
        os.makedirs(os.path.dirname(os.path.join(root, path)), exist_ok=True)
        with open(os.path.join(root, path), "wb") as fh:
            fh.write(data)

    write(b"etc/mysql/my.cnf", b"!includedir /etc/mysql/conf.d/\n")
    write(b"etc/mysql/conf.d/" + NAME + b".cnf",
          b"[mysqld]\ninnodb_buffer_pool_size = 7G\nmax_connections = 5000\nbad \x1b\x01 line\n")
    write(b"etc/fstab", b"/swap\xff\x1b[31m\x01\xe2\x80\xae none swap sw 0 0\n")
    write(b"etc/systemd/system/db.service", b"[Service]\nExecStart=/usr/sbin/mysqld\n"
                                            b"MemoryMax=1\x01G\n")
    write(b"etc/php/8.2/fpm/php-fpm.conf", b"[global]\ninclude=/etc/php/8.2/fpm/pool.d/*.conf\n")
    write(b"etc/php/8.2/fpm/pool.d/" + NAME + b".conf",
          b"[w\xff\x1b\x01]\npm = static\npm.max_children = 500\nlisten = /run/x.sock\n"
          b"php_admin_value[memory_limit] = 512M\n")


def _repository(root: Path) -> None:
    folder = os.path.join(os.fsencode(root), NAME)
    os.makedirs(folder)
    with open(os.path.join(folder, b"compose.yaml"), "w") as fh:
        fh.write('services:\n  "web\\e]0;pwn\\a\\x01\\x85\\u202e":\n    image: nginx\n')


def _reports(oomaudit, tmp_path, *command: str) -> dict[str, bytes]:
    args = [*command, "--ram", "4G"]
    for fmt in FORMATS:
        args += ["--format", fmt, "-o", f"out.{fmt}"]
    proc = oomaudit(*args)
    assert_no_traceback(proc)
    assert proc.returncode == 1, proc.stderr
    return {fmt: (tmp_path / f"out.{fmt}").read_bytes() for fmt in FORMATS}


@pytest.fixture(params=["scan", "check"])
def reports(request, oomaudit, tmp_path) -> dict[str, bytes]:
    if request.param == "scan":
        _tree(tmp_path / os.fsdecode(NAME))
        return _reports(oomaudit, tmp_path, "scan", "--root", os.fsdecode(NAME))
    _repository(tmp_path)
    return _reports(oomaudit, tmp_path, "check", ".")


def _strings(document):
    if isinstance(document, str):
        yield document
    elif isinstance(document, dict):
        for key, value in document.items():
            yield key
            yield from _strings(value)
    elif isinstance(document, list):
        for value in document:
            yield from _strings(value)


def _strict_json(data: bytes):
    assert not data.startswith(b"\xef\xbb\xbf")  # no byte order mark
    document = json.loads(data.decode("utf-8"))  # strict: no encoded surrogate either
    assert not [s for s in _strings(document) if SURROGATE.search(s)]  # nor "\udcff"
    return document


@pytest.mark.parametrize("fmt", ["text", "github", "prometheus"])
def test_line_formats_carry_no_raw_control_character(reports, fmt):
    text = reports[fmt].decode("utf-8")
    assert not RAW.search(text), ascii(text[RAW.search(text).start() - 60:][:120])
    if fmt != "prometheus":  # its labels name hosts and rules: "default" in check
        assert "\\x1b" in text  # the hostile names are there, escaped


def test_text_shows_the_names_escaped(reports):
    text = reports["text"].decode("utf-8")
    assert SHOWN in text or "web\\x1b]0;pwn\\x07\\x01\\x85\\u202e" in text


def test_json_is_strict_utf8_and_valid_against_its_schema(reports):
    document = _strict_json(reports["json"])
    schema = json.loads((Path(__file__).parents[2] / "oomaudit" / "report.schema.json")
                        .read_text())
    jsonschema.Draft202012Validator(schema).validate(document)
    names = [s for s in _strings(document) if "\x1b" in s]
    assert names and all("\ufffd" in s or "web" in s for s in names)


def test_sarif_is_strict_utf8_and_valid_against_the_sarif_schema(reports):
    document = _strict_json(reports["sarif"])
    schema = json.loads(need_shared("schemas", "sarif-schema-2.1.0.json").read_text())
    jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker()).validate(
        document)
    assert document["runs"][0]["results"]


def test_gitlab_is_strict_utf8(reports):
    entries = _strict_json(reports["gitlab"])
    assert entries and all(e["location"]["path"] for e in entries)


def test_junit_is_xml_1_0_a_consumer_reads(reports):
    data = reports["junit"]
    data.decode("utf-8")
    ElementTree.fromstring(data)  # expat refuses &#27; and raw C0 alike
    cases = [case for suite in JUnitXml.fromstring(data.decode("utf-8")) for case in suite]
    failed = [case for case in cases if any(r._tag == "failure" for r in case.result)]
    assert failed
    assert any("\\x1b" in (r.text or "") for case in failed for r in case.result)
