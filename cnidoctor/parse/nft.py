"""Parser of `nft -j list ruleset`: tables, chains (hook, policy), rules (verdicts, counters), sets.

Rule expressions are kept raw; only what checks ask about (verdict, jump targets, counters,
comment) is extracted. Object kinds other than these (flowtables, ct helpers, ...) are skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cnidoctor.parse._json import Obj, kind, load_keyed_items
from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.owners import nft_owner

_KINDS = frozenset({"metainfo", "table", "chain", "rule", "set", "map"})
_VERDICTS = ("accept", "drop", "reject", "return", "queue", "continue")


@dataclass(frozen=True)
class NftTable:
    family: str
    name: str
    handle: int | None
    owner: str | None  # kube-proxy, calico, firewalld, ... when the table name says so
    line: int


@dataclass(frozen=True)
class NftChain:
    """A chain; base chains have a type, hook, priority and policy."""

    family: str
    table: str
    name: str
    handle: int | None
    type: str | None
    hook: str | None
    prio: int | str | None
    policy: str | None
    owner: str | None
    line: int

    @property
    def base(self) -> bool:
        return self.hook is not None


@dataclass(frozen=True)
class NftRule:
    family: str
    table: str
    chain: str
    handle: int | None
    comment: str | None
    verdict: str | None  # accept, drop, reject, return, jump, goto, ...: the last verdict statement
    targets: tuple[str, ...]  # chains jumped or gone to
    packets: int | None  # from an anonymous counter statement
    bytes: int | None
    owner: str | None
    expr: list[Any] = field(compare=False, repr=False)
    line: int = 0


@dataclass(frozen=True)
class NftSet:
    """A named set or map."""

    family: str
    table: str
    name: str
    kind: str  # "set" or "map"
    type: str | None  # element type, concatenations joined with " . "
    flags: tuple[str, ...]
    elements: int  # number of elements listed
    line: int


@dataclass(frozen=True)
class NftRuleset:
    version: str | None  # nft version from metainfo
    json_schema_version: int | None
    tables: tuple[NftTable, ...]
    chains: tuple[NftChain, ...]
    rules: tuple[NftRule, ...]
    sets: tuple[NftSet, ...]

    def chain(self, family: str, table: str, name: str) -> NftChain | None:
        for c in self.chains:
            if (c.family, c.table, c.name) == (family, table, name):
                return c
        return None

    def rules_in(self, family: str, table: str, chain: str) -> tuple[NftRule, ...]:
        return tuple(r for r in self.rules if (r.family, r.table, r.chain) == (family, table, chain))

    def chains_owned_by(self, owner: str) -> tuple[NftChain, ...]:
        return tuple(c for c in self.chains if c.owner == owner)


def _prio(o: Obj) -> int | str | None:
    v = o.data.get("prio")
    if v is None or isinstance(v, str):
        return v
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    return str(v)


def _set_type(o: Obj) -> str | None:
    v = o.data.get("type")
    if isinstance(v, list):
        return " . ".join(str(x) for x in v)
    return o.get_str("type")


def _rule(o: Obj, line: int) -> NftRule:
    family, table, chain = o.req_str("family"), o.req_str("table"), o.req_str("chain")
    verdict = None
    targets: list[str] = []
    packets = nbytes = None
    expr = o.get_list("expr")
    for stmt in expr:
        if not isinstance(stmt, dict):
            raise ParseError(f"rule: expression should be an object, got {kind(stmt)}", o.source, line)
        for key, value in stmt.items():
            if key in _VERDICTS:
                verdict = key
            elif key in ("jump", "goto"):
                verdict = key
                target = Obj(value, o.source, line, f"rule.{key}").get_str("target")
                if target:
                    targets.append(target)
            elif key == "counter" and isinstance(value, dict):
                counter = Obj(value, o.source, line, "rule.counter")
                packets, nbytes = counter.get_int("packets"), counter.get_int("bytes")
    return NftRule(
        family=family,
        table=table,
        chain=chain,
        handle=o.get_int("handle"),
        comment=o.get_str("comment"),
        verdict=verdict,
        targets=tuple(targets),
        packets=packets,
        bytes=nbytes,
        owner=nft_owner(table, chain),
        expr=expr,
        line=line,
    )


def parse_nft_ruleset(text: str, source: str = "<input>") -> NftRuleset:
    """Parse `nft -j list ruleset`."""
    _, items = load_keyed_items(text, source, "nftables", "a JSON object with an 'nftables' list")
    version = schema = None
    tables: list[NftTable] = []
    chains: list[NftChain] = []
    rules: list[NftRule] = []
    sets: list[NftSet] = []
    for line, item in items:
        entry = Obj(item, source, line, "nftables entry")
        for key in entry.data:
            o = entry.get_obj(key, key) if key in _KINDS else None
            if o is None:
                continue
            if key == "metainfo":
                version, schema = o.get_str("version"), o.get_int("json_schema_version")
            elif key == "table":
                name = o.req_str("name")
                tables.append(NftTable(o.req_str("family"), name, o.get_int("handle"), nft_owner(name), line))
            elif key == "chain":
                table, name = o.req_str("table"), o.req_str("name")
                chains.append(
                    NftChain(
                        family=o.req_str("family"),
                        table=table,
                        name=name,
                        handle=o.get_int("handle"),
                        type=o.get_str("type"),
                        hook=o.get_str("hook"),
                        prio=_prio(o),
                        policy=o.get_str("policy"),
                        owner=nft_owner(table, name),
                        line=line,
                    )
                )
            elif key == "rule":
                rules.append(_rule(o, line))
            elif key in ("set", "map"):
                flags = o.get_strs("flags") if isinstance(o.data.get("flags"), list) else ()
                sets.append(
                    NftSet(
                        family=o.req_str("family"),
                        table=o.req_str("table"),
                        name=o.req_str("name"),
                        kind=key,
                        type=_set_type(o),
                        flags=flags,
                        elements=len(o.get_list("elem")),
                        line=line,
                    )
                )
    return NftRuleset(version, schema, tuple(tables), tuple(chains), tuple(rules), tuple(sets))
