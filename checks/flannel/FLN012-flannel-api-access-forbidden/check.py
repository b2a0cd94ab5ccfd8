"""flanneld's service account may not read or patch what it needs (nodes, pods): RBAC is wrong."""

from __future__ import annotations

from cnidoctor.bundle import layout
from cnidoctor.diagnose.context import Context, meta, obj_name
from cnidoctor.model import Evidence, Hit

from .._lib import flannel_lib as fl

FORBIDDEN = fl.log_pattern(
    r'is forbidden: User \\?"(?P<user>[^"\\]+)\\?" '
    r'cannot (?P<verb>\w+) resource \\?"(?P<resource>[\w./-]+)\\?"'
)


def _binding_evidence(ctx: Context, sa_ns: str, sa: str) -> list[Evidence]:
    """ClusterRoleBindings that name flannel's role but another service account namespace or name."""
    if not ctx.bundle.has(layout.cluster_list("clusterrolebindings")):
        return []
    out = []
    for b in ctx.resource("clusterrolebindings"):
        if "flannel" not in obj_name(b) and "flannel" not in str((b.get("roleRef") or {}).get("name", "")):
            continue
        subjects = [s for s in b.get("subjects") or [] if isinstance(s, dict) and s.get("kind") == "ServiceAccount"]
        if not any(s.get("namespace") == sa_ns and s.get("name") == sa for s in subjects):
            named = ", ".join(f"{s.get('namespace')}/{s.get('name')}" for s in subjects) or "no service account"
            out.append(
                Evidence(
                    layout.cluster_list("clusterrolebindings"),
                    f"ClusterRoleBinding {obj_name(b)} binds {named}, not {sa_ns}/{sa}",
                    f"ClusterRoleBinding/{obj_name(b)}",
                )
            )
    return out


def evaluate(ctx: Context, check) -> list[Hit] | None:  # noqa: ANN001
    hits: dict[str, Hit] = {}
    for ref, line, m in fl.lasting_errors(ctx, FORBIDDEN):
        key = f"{m.group('verb')} {m.group('resource')}"
        if key in hits:
            hit = hits[key]
            node = ctx.pod_node(ref.namespace, ref.pod)
            if node and node not in hit.nodes:
                hit.nodes.append(node)
            if len(hit.evidence) < 4 and ref.pod not in {e.object for e in hit.evidence}:
                hit.evidence.insert(1, fl.log_evidence(ctx, ref, line))
            continue
        pod = ctx.pod(ref.namespace, ref.pod)
        node = ctx.pod_node(ref.namespace, ref.pod)
        values = {k: v for k, v in m.groupdict().items() if v}
        user = m.group("user")
        sa_ns, _, sa = (
            user.removeprefix("system:serviceaccount:").partition(":") if ":serviceaccount:" in user else ("", "", "")
        )
        values.update(pod=ref.pod, **fl.ds_values(ctx, pod))
        ds = fl.ds_of(ctx, pod)
        if ds is not None:
            sa = ((ds.get("spec") or {}).get("template") or {}).get("spec", {}).get("serviceAccountName")
            values["ds_sa"] = f"{meta(ds).get('namespace')}/{sa or 'default'}"
        evidence = [fl.log_evidence(ctx, ref, line), *(_binding_evidence(ctx, sa_ns, sa) if sa else [])]
        hits[key] = Hit(
            evidence,
            [f"{ref.namespace}/Pod/{ref.pod}"],
            [node] if node else [],
            values,
            message=f"{m.group('user')} may not {key}",
        )
    return list(hits.values())
