from __future__ import annotations

import platform
import subprocess

import pytest
from parse_testlib import all_case_files, data

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.uname import parse_uname


def test_suse_kernel():
    u = parse_uname(data("CA-05-node-3-uname.txt"), "uname.txt")
    assert (u.kernel_name, u.nodename, u.release, u.machine) == (
        "Linux",
        "node-3",
        "6.4.0-150600.23.25-default",
        "x86_64",
    )
    assert u.version == (6, 4, 0)


def test_release_only():
    u = parse_uname("4.18.0-2-amd64\n")
    assert (u.release, u.kernel_name, u.version) == ("4.18.0-2-amd64", None, (4, 18, 0))


def test_every_case_kernel_has_a_version():
    for path in all_case_files("uname.txt"):
        assert parse_uname(path.read_text(), str(path)).version >= (4, 4, 0)


@pytest.mark.parametrize(("text", "line"), [("", 1), ("\n\nLinux node\n", 3), ("Linux node-1 unknown #1\n", 1)])
def test_errors(text, line):
    with pytest.raises(ParseError) as exc:
        parse_uname(text, "uname.txt")
    assert exc.value.line == line


def test_real_uname():
    if platform.system() != "Linux":
        pytest.skip("not Linux")
    out = subprocess.run(["uname", "-a"], capture_output=True, text=True, timeout=10).stdout
    assert parse_uname(out).release == platform.release()
