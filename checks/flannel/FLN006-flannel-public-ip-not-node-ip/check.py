"""flannel announces a public IP that is not one of the node's addresses: it picked another interface."""

from __future__ import annotations

import ipaddress

from cnidoctor.diagnose.context import Context, obj_name
from cnidoctor.model import Hit
from cnidoctor.parse.iproute import parse_addrs

from .._lib import flannel_lib as fl

USING = fl.log_pattern(r"Using interface with name (?P<iface>\S+) and address (?P<addr>[0-9a-fA-F.:]+)")


def _version(ip: str) -> int | None:
    try:
        return ipaddress.ip_address(ip).version
    except ValueError:
        return None


def _iface_of(ctx: Context, node: str, ip: str) -> tuple[str | None, int | None]:
    for link in ctx.parsed(node, "ip-addr.json", parse_addrs) or ():
        if any(a.local == ip for a in link.addrs):
            return link.name, link.line
    return None, None


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    if not ctx.nodes:
        return None
    hits = []
    for node in ctx.nodes:
        name, ann = obj_name(node), fl.annotations(node)
        public = ann.get(fl.PUBLIC_IP)
        if not public or fl.PUBLIC_IP_OVERWRITE in ann or _version(public) is None:
            continue  # an explicit override is the operator's choice
        internal = [a for a in fl.node_addresses(node, "InternalIP") if _version(a) == _version(public)]
        if not internal or public in fl.node_addresses(node):
            continue
        evidence = [fl.node_evidence(name, f"{name} {fl.PUBLIC_IP}: {public}, InternalIP: {', '.join(internal)}")]
        values = {"public_ip": public, "internal_ip": internal[0], **fl.ds_values(ctx, fl.flannel_pod_on(ctx, name))}
        for ref, line, m in fl.flannel_log_lines(ctx, USING):
            if ctx.pod_node(ref.namespace, ref.pod) == name and m.group("addr") == public:
                evidence.insert(0, fl.log_evidence(ctx, ref, line))
                values["used_iface"] = m.group("iface")
                break
        iface, line = _iface_of(ctx, name, internal[0])
        if iface:
            values["iface"] = iface
            evidence.append(fl.file_evidence(name, "ip-addr.json", f"{iface} has the InternalIP {internal[0]}", line))
        values.setdefault("iface", "<interface holding the InternalIP>")
        hits.append(
            Hit(
                evidence,
                [f"Node/{name}"],
                [name],
                values,
                message=f"flannel on {name} uses {public}, not the node's InternalIP {internal[0]}",
            )
        )
    return hits
