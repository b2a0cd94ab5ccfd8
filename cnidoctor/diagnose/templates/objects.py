"""`objects`: a JMESPath predicate over API objects of one resource (nodes, pods, custom resources)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import jmespath
from jmespath.exceptions import JMESPathError

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_ref
from cnidoctor.diagnose.logscan import LogScanner
from cnidoctor.diagnose.templates.base import MatchResult, allowed_keys, optional_regex
from cnidoctor.errors import CatalogError
from cnidoctor.model import Evidence, Hit


@dataclass
class Compiled:
    resource: str
    namespace: re.Pattern | None
    name: re.Pattern | None
    where: jmespath.parser.ParsedResult
    excerpt: jmespath.parser.ParsedResult | None
    node: jmespath.parser.ParsedResult | None


def _jp(value: object, where: str, key: str) -> jmespath.parser.ParsedResult:
    if not isinstance(value, str) or not value.strip():
        raise CatalogError(f"{where}: `{key}` must be a JMESPath expression")
    try:
        return jmespath.compile(value)
    except JMESPathError as exc:
        raise CatalogError(f"{where}: `{key}` is not valid JMESPath: {exc}") from None


class ObjectsTemplate:
    name = "objects"

    def validate(self, params: dict, where: str) -> Compiled:
        allowed_keys(params, {"resource", "namespace", "name", "where", "excerpt", "node"}, where)
        resource = params.get("resource")
        if not isinstance(resource, str) or not resource:
            raise CatalogError(f"{where}: `resource` must name a list (nodes, pods, ippools.crd.projectcalico.org)")
        return Compiled(
            resource=resource,
            namespace=optional_regex(params, "namespace", where),
            name=optional_regex(params, "name", where),
            where=_jp(params.get("where"), where, "where"),
            excerpt=_jp(params["excerpt"], where, "excerpt") if "excerpt" in params else None,
            node=_jp(params["node"], where, "node") if "node" in params else None,
        )

    def prepare(self, compiled: Compiled, scanner: LogScanner) -> None:
        return None

    def evaluate(self, ctx: Context, c: Compiled, scanner: LogScanner) -> MatchResult:
        if not ctx.has_resource(c.resource):
            return MatchResult(evaluated=False, missing=f"no {c.resource} list in the bundle")
        hits = []
        for item in ctx.resource(c.resource):
            m = meta(item)
            ns = m.get("namespace")
            if c.namespace and not c.namespace.fullmatch(str(ns or "")):
                continue
            if c.name and not c.name.fullmatch(str(m.get("name", ""))):
                continue
            try:
                found = c.where.search(item)
            except JMESPathError:
                continue
            if not found:
                continue
            ref = obj_ref(item)
            node = _node(item, c)
            excerpt = _excerpt(item, c, found)
            path = layout.namespaced_list(ns, c.resource) if ns else layout.cluster_list(c.resource)
            values = {"object": ref, "name": str(m.get("name", ""))}
            if ns:
                values["namespace"] = str(ns)
            if node:
                values["node"] = node
            if item.get("kind") == "Pod":
                values["pod"] = str(m.get("name", ""))
            hits.append(Hit([Evidence(path, excerpt, ref, node)], [ref], [node] if node else [], values))
        return MatchResult(hits=hits)


def _node(item: dict, c: Compiled) -> str | None:
    if c.node is not None:
        try:
            v = c.node.search(item)
        except JMESPathError:
            v = None
        return v if isinstance(v, str) else None
    if item.get("kind") == "Node":
        return str(meta(item).get("name"))
    spec = item.get("spec")
    node = spec.get("nodeName") if isinstance(spec, dict) else None
    return node if isinstance(node, str) else None


def _excerpt(item: dict, c: Compiled, found: object) -> str:
    value: object = found
    if c.excerpt is not None:
        try:
            value = c.excerpt.search(item)
        except JMESPathError:
            value = None
    if value is True or value is None:
        value = obj_ref(item)
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return text[:500]
