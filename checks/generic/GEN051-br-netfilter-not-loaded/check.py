"""Bridge-based pod networks on nodes where bridged traffic bypasses iptables (br_netfilter off or absent)."""

from __future__ import annotations

import re

from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit
from cnidoctor.parse.cniconf import select_default
from cnidoctor.parse.lsmod import parse_lsmod
from cnidoctor.parse.sysctl import parse_sysctl

KEY = "net.bridge.bridge-nf-call-iptables"
BRIDGE_TYPES = {"bridge", "flannel"}
AGENT = re.compile(r"(kube-flannel|flannel|canal|kube-proxy|calico-node|kube-multus|multus|cilium)(-[a-z0-9]+)+")
COMPLAINT = re.compile(
    r"bridge-nf-call-ip6?tables.*(no such file|not found|permission denied)|Failed to check br_netfilter"
    r"|Missing br-netfilter module|br_netfilter.*(not loaded|missing|not found)",
    re.I,
)


def _cni_files(ctx: Context) -> dict[str, dict[str, str]]:
    """Each node's cni-net.d/ files (name -> text), from one pass over the bundle's paths."""
    out: dict[str, dict[str, str]] = {}
    for path in ctx.bundle.paths("nodes/"):
        parts = path.split("/", 3)
        if len(parts) == 4 and parts[2] == "cni-net.d" and (text := ctx.bundle.read_text(path)) is not None:
            out.setdefault(parts[1], {})[parts[3]] = text
    return out


def _bridge_based(ctx: Context, node: str, files: dict[str, str] | None) -> bool:
    sel = select_default(files) if files else None
    if sel is not None and sel.config is not None:
        types = set(sel.config.types)
        if sel.config.multus is not None:
            for d in sel.config.multus.delegates:
                types |= set(d.types)
        return bool(types & BRIDGE_TYPES)
    return "flannel" in ctx.cnis


def _agent_pod(ctx: Context, node: str) -> tuple[str, str] | None:
    for p in ctx.pods_by_node.get(node, []):
        name = obj_name(p)
        if AGENT.fullmatch(name) and not name.startswith("kube-proxy"):
            return str(meta(p).get("namespace")), name
    return None


def _complaints(ctx: Context, node: str) -> list[Evidence]:
    out: list[Evidence] = []
    for ref in ctx.bundle.logs:
        if not AGENT.fullmatch(ref.pod) or ctx.pod_node(ref.namespace, ref.pod) != node:
            continue
        for line in ctx.bundle.grep_log(ref, COMPLAINT):
            if COMPLAINT.search(line.text):
                out.append(
                    Evidence(ref.path, line.text.strip()[:400], f"{ref.namespace}/Pod/{ref.pod}", node, line.lineno)
                )
                break
    text = ctx.node_file(node, "kubelet.log") or ""
    for i, line in enumerate(text.splitlines(), start=1):
        if COMPLAINT.search(line):
            out.append(Evidence(f"nodes/{node}/kubelet.log", line.strip()[:400], f"Node/{node}", node, i))
            break
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    cni_files = _cni_files(ctx)
    nodes = [n for n in ctx.bundle.node_dirs if _bridge_based(ctx, n, cni_files.get(n))]
    if not nodes:
        return []
    hits: list[Hit] = []
    evaluated = False
    for node in nodes:
        sysctls = ctx.parsed(node, "sysctl.txt", parse_sysctl)
        modules = ctx.parsed(node, "modules.txt", parse_lsmod)
        if sysctls is None and modules is None:
            continue
        evaluated = True
        evidence: list[Evidence] = []
        value = sysctls.get_int(KEY) if sysctls is not None else None
        key_missing = sysctls is not None and KEY not in sysctls and any(k.startswith("net.") for k in sysctls.values)
        module_missing = modules is not None and "br_netfilter" not in modules
        if value == 0:
            e = ctx.evidence_line(node, "sysctl.txt", KEY)
            state = f"{KEY} = 0"
        elif key_missing:
            e = None
            state = f"no {KEY} key in sysctl -a: /proc/sys/net/bridge does not exist"
        elif sysctls is None and module_missing:
            e = None
            state = "br_netfilter is not in lsmod"
        else:
            continue
        complaints = _complaints(ctx, node)
        if sysctls is None and not complaints:
            continue  # a missing module alone may be built into the kernel
        evidence += complaints
        where = f"nodes/{node}/sysctl.txt" if sysctls is not None else f"nodes/{node}/modules.txt"
        evidence.append(e or Evidence(where, f"{node}: {state}", f"Node/{node}", node))
        if module_missing:
            evidence.append(
                Evidence(
                    f"nodes/{node}/modules.txt",
                    f"{node}: br_netfilter is not in lsmod"
                    + (" (bridge is loaded)" if modules is not None and "bridge" in modules else ""),
                    f"Node/{node}",
                    node,
                )
            )
        values = {"module": "br_netfilter"}
        agent = _agent_pod(ctx, node)
        if agent:
            values.update({"namespace": agent[0], "pod": agent[1]})
        hits.append(Hit(evidence, [f"Node/{node}"], [node], values, message=f"{node}: {state}"))
    return hits if hits or evaluated else None
