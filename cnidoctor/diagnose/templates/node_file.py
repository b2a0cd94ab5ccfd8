"""`node_file`: regexes over a node-state file (sysctl.txt, dmesg.txt, cni-net.d/*) on every node."""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context
from cnidoctor.diagnose.logscan import LogScanner
from cnidoctor.diagnose.templates.base import MatchResult, allowed_keys, regex_list
from cnidoctor.errors import CatalogError
from cnidoctor.model import Evidence, Hit


@dataclass
class Compiled:
    file: str
    patterns: list[re.Pattern]


class NodeFileTemplate:
    name = "node_file"

    def validate(self, params: dict, where: str) -> Compiled:
        allowed_keys(params, {"file", "patterns"}, where)
        f = params.get("file")
        if not isinstance(f, str) or not f or f.startswith("/") or ".." in f:
            raise CatalogError(f"{where}: `file` must be a node file name or glob (e.g. sysctl.txt, cni-net.d/*)")
        return Compiled(f, regex_list(params.get("patterns"), where, "patterns"))

    def prepare(self, compiled: Compiled, scanner: LogScanner) -> None:
        return None

    def evaluate(self, ctx: Context, c: Compiled, scanner: LogScanner) -> MatchResult:
        hits = []
        seen_any = False
        for node in ctx.bundle.node_dirs:
            base = f"{layout.NODES}/{node}/"
            for path in ctx.bundle.paths(base):
                rel = path[len(base) :]
                if not fnmatch.fnmatchcase(rel, c.file):
                    continue
                seen_any = True
                text = ctx.bundle.read_text(path)
                if text is None:
                    continue
                for lineno, line in enumerate(text.splitlines(), start=1):
                    for pat in c.patterns:
                        m = pat.search(line)
                        if m:
                            values = {k: v for k, v in m.groupdict().items() if v is not None}
                            values.update({"node": node, "file": rel})
                            hits.append(
                                Hit(
                                    [Evidence(path, line.strip()[:400], f"Node/{node}", node, lineno)],
                                    [f"Node/{node}"],
                                    [node],
                                    values,
                                )
                            )
                            break
        if not seen_any:
            return MatchResult(evaluated=False, missing=f"no node has {c.file} in the bundle")
        return MatchResult(hits=hits)
