from __future__ import annotations

import pytest
from parse_testlib import data

from cnidoctor.parse.conntrack import parse_conntrack_stats
from cnidoctor.parse.errors import ParseError


def test_table_full_node():
    st = parse_conntrack_stats(data("GE-06-node-2-conntrack-stats.txt"), "conntrack-stats.txt")
    assert [c.cpu for c in st.cpus] == [0, 1, 2, 3]
    assert st.cpus[0].counters["drop"] == 388291
    assert (st.found, st.invalid, st.insert_failed, st.drop, st.early_drop, st.error, st.search_restart) == (
        73018,
        359912,
        1644,
        1544751,
        285920,
        82,
        3216897,
    )
    assert st.total("clash_resolve") == 260 and st.total("nonexistent") == 0


def test_old_conntrack_tools_and_error_lines():
    st = parse_conntrack_stats(
        "cpu=0 searched=10 found=1 new=2 invalid=3 ignore=0 delete=0 delete_list=0 insert=2 insert_failed=0 "
        "drop=0 early_drop=0 error=0 search_restart=0\n"
        "conntrack v1.4.6 (conntrack-tools): Operation failed: such conntrack doesn't exist\n"
    )
    assert st.total("searched") == 10 and st.invalid == 3
    assert st.errors == ("conntrack v1.4.6 (conntrack-tools): Operation failed: such conntrack doesn't exist",)


def test_proc_net_stat_format():
    st = parse_conntrack_stats(
        "entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop\n"
        "00000010  00000000 0000000a 00000000 00000002 00000000 00000000 00000000 00000000 00000001 00000ff0 00000000\n"
        "00000010  00000000 00000001 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000010 00000000\n"
    )
    assert (st.found, st.invalid, st.insert_failed, st.drop) == (11, 2, 1, 0xFF0 + 0x10)
    assert "entries" not in st.totals


def test_bad_line():
    with pytest.raises(ParseError) as exc:
        parse_conntrack_stats("cpu=0 found=1\nnot a counter line\n", "conntrack-stats.txt")
    assert str(exc.value) == "conntrack-stats.txt:2: expected 'cpu=N key=value ...', got 'not a counter line'"
