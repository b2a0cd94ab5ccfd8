"""Write a deterministic synthetic bundle of any size for one CNI, with a few injected faults.

The healthy fixture of the CNI (`fixtures/healthy-<cni>/bundle`) is the template: its control-plane node
stays, its worker node is cloned (node name, node IP and pod ranges rewritten in every object that
mentions them: DaemonSet pods, CNI custom resources, node-state files), app pods and events are added,
and every CNI agent gets a log of realistic noise with a few real failure lines buried in it.

    python bench/make_cluster.py --cni cilium --nodes 5000 --pods 150000 --events 100000 --out /tmp/b
    python bench/make_cluster.py --cni flannel --nodes 20 --log-bytes 2GiB --out /tmp/logs

`--faults` (default on) injects, and `expected.json` in the output lists the check IDs that must come
out: a duplicate pod IP, a NotReady node with sandbox failures, a crash-looping CNI agent, and (with
logs) a CNI failure line buried deep in one agent's log.
"""

from __future__ import annotations

import argparse
import copy
import ipaddress
import json
import random
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POD_SPACE = ipaddress.ip_network("10.128.0.0/9")  # each node gets a /23: two /24 prefixes
NODE_SPACE = ipaddress.ip_network("172.16.0.0/12")
PODS_PER_NAMESPACE = 1000
CLUSTER_CIDRS = ("10.244.0.0/16", "10.0.0.0/8", "10.0.0.0/16")
NODE_SUBNET = "192.168.56.0/24"

# Per CNI: the agent container whose log gets the bytes, and the failure buried in it
# (line text, check ID that must fire). The lines are taken from the regression fixtures.
AGENTS = {
    "cilium": ("cilium-agent", "cilium"),
    "calico": ("calico-node", "calico-node"),
    "flannel": ("kube-flannel", "kube-flannel-ds"),
    "multus": ("kube-multus", "kube-multus-ds"),
}
LOG_FAULTS = {
    "cilium": (
        'level=error msg="Unable to add endpoint to policy map" error="argument list too long" '
        "subsys=endpoint endpointID=2193",
        "CIL003",
    ),
    "flannel": (
        "E1121 10:43:01.123456       1 main.go:335] Error registering network: failed to acquire lease: "
        'node "{node}" pod cidr not assigned',
        "FLN001",
    ),
    "calico": (
        "2026-11-21 10:43:01.123 [FATAL][1] felix/int_dataplane.go 1200: Kernel's RPF check is set to 'loose'. "
        "This would allow endpoints to spoof their IP address. Calico requires net.ipv4.conf.all.rp_filter "
        "to be set to 0 or 1.",
        "CAL003",
    ),
    "multus": (
        "2026-11-21T10:43:01Z [error] failed to copy multus shim: open /host/opt/cni/bin/multus-shim: text file busy",
        "",
    ),
}


def parse_size(text: str) -> int:
    m = re.fullmatch(r"(\d+(?:\.\d+)?)\s*([kmg]i?b?)?", text.strip().lower())
    if not m:
        raise argparse.ArgumentTypeError(f"not a size: {text}")
    unit = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}[(m.group(2) or "")[:1]]
    return int(float(m.group(1)) * unit)


# -- rewriting template objects for a new node --------------------------------------------------------
def _prefix(cidr: str) -> str:
    return ".".join(cidr.split("/")[0].split(".")[:3]) + "."


def node_prefixes(index: int) -> tuple[str, str]:
    """The two /24 prefixes (`a.b.c.`) of node INDEX (1-based)."""
    base = int(POD_SPACE.network_address) + index * 512
    return str(ipaddress.ip_address(base))[:-1], str(ipaddress.ip_address(base + 256))[:-1]


def node_ip(index: int) -> str:
    return str(NODE_SPACE.network_address + 10 + index)


class Rewriter:
    """Rewrites the text of a template object from template node K to new node I."""

    def __init__(self, template_nodes: dict[str, dict], cidrs: dict[str, list[str]]) -> None:
        self.template_nodes = template_nodes  # name -> {"ip": ..., "prefixes": [...]}
        self.cidrs = cidrs

    def mapping(self, template: str, index: int, name: str) -> dict[str, str]:
        t = self.template_nodes[template]
        new_prefixes = node_prefixes(index)
        m = {c: str(POD_SPACE) for c in CLUSTER_CIDRS}
        m[NODE_SUBNET] = str(NODE_SPACE)
        m[template] = name
        m[t["ip"]] = node_ip(index)
        for old, new in zip(t["prefixes"], new_prefixes, strict=False):
            m[old] = new
        return m

    @staticmethod
    def apply(text: str, mapping: dict[str, str]) -> str:
        """TEXT with node names, addresses, CIDRs and address prefixes (`a.b.c.`) replaced per MAPPING."""

        def one(m: re.Match) -> str:
            tok = m.group(0)
            if tok in mapping:
                return mapping[tok]
            if tok[0] == "n":
                return tok
            ip, slash, bits = tok.partition("/")
            if ip in mapping:
                return mapping[ip] + slash + bits
            head, _, last = ip.rpartition(".")
            new = mapping.get(head + ".")
            return new + last + slash + bits if new else tok

        return _TOKEN.sub(one, text)


_TOKEN = re.compile(r"(?<![\w.-])(?:node-\d+(?!\w)|\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}(?:/\d{1,2})?(?![\d.]))")


def template_node_facts(bundle: Path) -> dict[str, dict]:
    """Node IP and pod prefixes of each template node (podCIDR, CNI annotations, Calico blocks)."""
    nodes = json.loads((bundle / "cluster/nodes.json").read_text())["items"]
    facts: dict[str, dict] = {}
    cidr_rx = re.compile(r"^\d+\.\d+\.\d+\.\d+/(2[4-9]|3[0-2])$")
    for n in nodes:
        name = n["metadata"]["name"]
        ip = next(a["address"] for a in n["status"]["addresses"] if a["type"] == "InternalIP")
        cidrs = [n["spec"].get("podCIDR")] if n["spec"].get("podCIDR") else []
        cidrs += [v for v in (n["metadata"].get("annotations") or {}).values() if cidr_rx.match(str(v))]
        facts[name] = {"ip": ip, "prefixes": [], "cidrs": cidrs}
    for crd in ("blockaffinities.crd.projectcalico.org.json", "ciliumnodes.cilium.io.json"):
        path = bundle / "cluster" / crd
        if path.is_file():
            for item in json.loads(path.read_text()).get("items", []):
                spec = item.get("spec") or {}
                node = spec.get("node") or item["metadata"]["name"]
                for c in [spec.get("cidr")] + list(((spec.get("ipam") or {}).get("podCIDRs")) or []):
                    if c and node in facts:
                        facts[node]["cidrs"].append(c)
    for f in facts.values():
        seen: list[str] = []
        for c in f["cidrs"]:
            if _prefix(c) not in seen and _prefix(c) != _prefix(f["ip"]):
                seen.append(_prefix(c))
        f["prefixes"] = seen[:2]
    return facts


# -- the generator ------------------------------------------------------------------------------------
class Generator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.rng = random.Random(args.seed)
        self.template = ROOT / "fixtures" / f"healthy-{args.cni}" / "bundle"
        self.out: Path = args.out
        self.facts = template_node_facts(self.template)
        self.rewriter = Rewriter(self.facts, {})
        names = sorted(self.facts, key=lambda n: int(re.sub(r"\D", "", n) or 0))
        self.control, self.worker = names[0], names[1]
        self.node_names = [f"node-{i}" for i in range(1, args.nodes + 1)]
        self.expected: list[str] = []
        self.used_ips: set[str] = set()
        self.agent_container, self.agent_ds = AGENTS[args.cni]
        self.agent_pods: list[tuple[str, str, str]] = []  # (namespace, pod, node)
        self.fault_node = args.nodes // 2 + 1  # whose agent log gets the buried failure line

    def template_for(self, index: int) -> str:
        """Template node of new node INDEX: the control plane for node 1, the worker for the others."""
        return self.control if index == 1 else self.worker

    def mapping(self, index: int) -> dict[str, str]:
        return self.rewriter.mapping(self.template_for(index), index, self.node_names[index - 1])

    def rewrite(self, obj: object, index: int) -> object:
        return json.loads(Rewriter.apply(json.dumps(obj), self.mapping(index)))

    def run(self) -> None:
        if self.out.exists():
            shutil.rmtree(self.out)
        (self.out / "cluster").mkdir(parents=True)
        self.write_nodes()
        self.write_namespaced()
        self.write_cluster_crds()
        self.write_node_state()
        self.write_manifest()

    # nodes ----------------------------------------------------------------------------------------
    def write_nodes(self) -> None:
        tmpl = {n["metadata"]["name"]: n for n in self._items("cluster/nodes.json")}
        items = []
        for i in range(1, self.args.nodes + 1):
            node = self.rewrite(tmpl[self.template_for(i)], i)
            node["metadata"]["uid"] = f"00000000-0000-4000-8000-{i:012d}"
            items.append(node)
        if self.args.faults and self.args.nodes >= 4:
            bad = items[2]
            for cond in bad["status"].get("conditions", []):
                if cond.get("type") == "Ready":
                    cond.update(
                        status="False",
                        reason="KubeletNotReady",
                        message="container runtime network not ready: NetworkReady=false "
                        "reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
                    )
            self.expected.append("GEN101")
        if self.args.faults and self.args.log_bytes and self.args.cni == "flannel":
            lost = items[self.fault_node - 1]  # flannel's `pod cidr not assigned` needs a node without one
            lost["spec"].pop("podCIDR", None)
            lost["spec"].pop("podCIDRs", None)
        self._write("cluster/nodes.json", {"kind": "NodeList", "apiVersion": "v1", "items": items})

    # namespaced lists -----------------------------------------------------------------------------
    def write_namespaced(self) -> None:
        namespaces = sorted(p.name for p in (self.template / "cluster").iterdir() if p.is_dir())
        app_templates: list[dict] = []
        for ns in namespaces:
            for f in sorted((self.template / "cluster" / ns).glob("*.json")):
                resource = f.stem
                items = self._items(f"cluster/{ns}/{f.name}")
                if resource == "pods":
                    items = self._pods(ns, items, app_templates)
                elif resource == "daemonsets":
                    for ds in items:
                        st = ds.get("status") or {}
                        for k in (
                            "currentNumberScheduled",
                            "desiredNumberScheduled",
                            "numberReady",
                            "updatedNumberScheduled",
                            "numberAvailable",
                        ):
                            if k in st:
                                st[k] = self.args.nodes
                elif resource == "events":
                    items = [self.rewrite(e, 1) for e in items]
                else:
                    items = [self.rewrite(o, 1) for o in items]
                self._write(f"cluster/{ns}/{f.name}", {"kind": _list_kind(f), "apiVersion": "v1", "items": items})
            self._copy_logs(ns)
        self._app_pods_and_events(app_templates)

    def _pods(self, ns: str, items: list[dict], app_templates: list[dict]) -> list[dict]:
        out = []
        for pod in items:
            node = (pod.get("spec") or {}).get("nodeName")
            owner = ((pod["metadata"].get("ownerReferences") or [{}])[0]).get("kind")
            if owner == "DaemonSet":
                if node != self.worker:
                    continue  # one clone per node comes from the worker's pod
                out.extend(self._daemonset_pods(pod))
            elif ns in ("default", "shop") or ns.startswith("app-"):
                app_templates.append(pod)
            else:
                index = self._template_index(node)
                mapping = self.rewriter.mapping(node or self.control, index, self.node_names[index - 1])
                out.append(json.loads(Rewriter.apply(json.dumps(pod), mapping)))
                self.used_ips.add(out[-1]["status"].get("podIP", ""))
        return out

    def _template_index(self, node: str | None) -> int:
        names = sorted(self.facts, key=lambda n: int(re.sub(r"\D", "", n) or 0))
        return min(names.index(node) + 1, self.args.nodes) if node in names else 1

    def _daemonset_pods(self, pod: dict) -> list[dict]:
        base = pod["metadata"]["name"].rsplit("-", 1)[0]
        owner = pod["metadata"]["ownerReferences"][0]["name"]
        out = []
        for i in range(1, self.args.nodes + 1):
            clone = (
                self.rewrite(pod, i)
                if i > 1
                else json.loads(Rewriter.apply(json.dumps(pod), self.rewriter.mapping(self.worker, 1, "node-1")))
            )
            name = f"{base}-{_suffix(i)}"
            clone["metadata"]["name"] = name
            clone["metadata"]["uid"] = f"00000000-0000-4000-9{len(out) % 10}00-{i:012d}"
            out.append(clone)
            if owner == self.agent_ds:
                self.agent_pods.append((clone["metadata"]["namespace"], name, self.node_names[i - 1]))
        if self.args.faults and owner == self.agent_ds and len(out) >= 6:
            crashing = out[4]
            for cs in crashing["status"].get("containerStatuses") or []:
                if cs.get("name") == self.agent_container:
                    cs.update(
                        ready=False,
                        restartCount=14,
                        started=False,
                        state={
                            "waiting": {
                                "reason": "CrashLoopBackOff",
                                "message": "back-off 5m0s restarting failed container",
                            }
                        },
                        lastState={
                            "terminated": {
                                "exitCode": 1,
                                "reason": "Error",
                                "startedAt": "2026-11-21T10:40:00Z",
                                "finishedAt": "2026-11-21T10:40:02Z",
                            }
                        },
                    )
            crashing["status"]["conditions"] = [
                dict(c, status="False") if c.get("type") in ("Ready", "ContainersReady") else c
                for c in crashing["status"].get("conditions") or []
            ]
            self.expected.append("GEN102")
        return out

    def _app_pods_and_events(self, templates: list[dict]) -> None:
        templates = [t for t in templates if t["status"].get("podIP") and not t["spec"].get("hostNetwork")]
        total, nodes = self.args.pods, self.args.nodes
        per_node = -(-total // max(1, nodes))
        if per_node > 250:
            sys.exit(f"{total} pods on {nodes} nodes is more than 250 per node; add nodes")
        events_left = self.args.events
        n_ns = max(1, -(-total // PODS_PER_NAMESPACE))
        counter = [0] * (nodes + 1)
        k = 0
        for ns_i in range(n_ns):
            ns = f"app-{ns_i:03d}"
            pods = []
            for _ in range(min(PODS_PER_NAMESPACE, total - k)):
                tmpl = templates[k % len(templates)]
                index = 1 + (k % nodes)
                tnode = tmpl["spec"].get("nodeName") or self.worker
                pod = json.loads(Rewriter.apply(json.dumps(tmpl), self.rewriter.mapping(tnode, index, f"node-{index}")))
                pod["spec"]["nodeName"] = f"node-{index}"
                (pod["metadata"].get("annotations") or {}).pop("k8s.v1.cni.cncf.io/networks", None)
                tip = tmpl["status"]["podIP"]
                slot = (
                    self.facts[tnode]["prefixes"].index(_prefix(tip))
                    if _prefix(tip) in self.facts[tnode]["prefixes"]
                    else 0
                )
                prefix = node_prefixes(index)[slot]
                ip = self._next_ip(prefix, counter, index)
                app = tmpl["metadata"].get("labels", {}).get("app", "app")
                name = f"{app}-{ns_i:03d}{_suffix(k, 10)}"
                pod["metadata"].update(name=name, namespace=ns, uid=f"00000000-0000-4000-a000-{k:012d}")
                pod["status"]["podIP"] = ip
                pod["status"]["podIPs"] = [{"ip": ip}]
                pods.append(pod)
                k += 1
            if self.args.faults and ns_i == 0 and len(pods) > 10 and nodes >= 4:
                pods[7]["status"]["podIP"] = pods[1]["status"]["podIP"]  # two nodes hand out one IP
                pods[7]["status"]["podIPs"] = [{"ip": pods[1]["status"]["podIP"]}]
                if pods[7]["spec"]["nodeName"] != pods[1]["spec"]["nodeName"]:
                    self.expected.append("GEN009")
            share = events_left if ns_i == n_ns - 1 else min(events_left, self.args.events // n_ns)
            events = self._events(ns, pods, share)
            events_left -= len(events)
            self._write(f"cluster/{ns}/pods.json", {"kind": "PodList", "apiVersion": "v1", "items": pods})
            self._write(f"cluster/{ns}/events.json", {"kind": "EventList", "apiVersion": "v1", "items": events})
            for res in ("services", "daemonsets", "deployments", "replicasets", "configmaps"):
                self._write(f"cluster/{ns}/{res}.json", {"kind": "List", "apiVersion": "v1", "items": []})

    def _next_ip(self, prefix: str, counter: list[int], index: int) -> str:
        while True:
            counter[index] += 1
            ip = f"{prefix}{10 + counter[index]}"
            if ip not in self.used_ips:
                self.used_ips.add(ip)
                return ip

    def _events(self, ns: str, pods: list[dict], count: int) -> list[dict]:
        reasons = [
            ("Scheduled", "Successfully assigned {ns}/{pod} to {node}", "default-scheduler"),
            ("Pulled", 'Container image "ghcr.io/stefanprodan/podinfo:6.7.1" already present on machine', "kubelet"),
            ("Created", "Created container podinfo", "kubelet"),
            ("Started", "Started container podinfo", "kubelet"),
        ]
        out = []
        sandbox_fault = self.args.faults and ns == "app-000" and self.args.nodes >= 4
        for j in range(count):
            pod = pods[j % len(pods)] if pods else None
            if pod is None:
                break
            node = pod["spec"]["nodeName"]
            reason, msg, comp = reasons[j % len(reasons)]
            etype = "Normal"
            if sandbox_fault and j < 3:
                pod = next((p for p in pods if p["spec"]["nodeName"] == "node-3"), pod)
                node = "node-3"
                reason, etype, comp = "FailedCreatePodSandBox", "Warning", "kubelet"
                msg = (
                    "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for "
                    'sandbox "5f2c": plugin type="cilium-cni" failed (add): unable to connect to Cilium daemon'
                )
            name = pod["metadata"]["name"]
            out.append(
                {
                    "metadata": {
                        "name": f"{name}.{j:016x}",
                        "namespace": ns,
                        "uid": f"00000000-0000-4000-b000-{j:012d}",
                        "creationTimestamp": "2026-11-21T10:43:49Z",
                    },
                    "involvedObject": {
                        "kind": "Pod",
                        "namespace": ns,
                        "name": name,
                        "uid": pod["metadata"]["uid"],
                        "apiVersion": "v1",
                        "fieldPath": "spec.containers{podinfo}",
                    },
                    "reason": reason,
                    "message": msg.format(ns=ns, pod=name, node=node),
                    "source": {"component": comp, "host": node} if comp == "kubelet" else {"component": comp},
                    "firstTimestamp": "2026-11-21T10:43:49Z",
                    "lastTimestamp": "2026-11-21T10:43:49Z",
                    "count": 1,
                    "type": etype,
                    "eventTime": None,
                    "reportingComponent": comp,
                    "reportingInstance": node if comp == "kubelet" else "",
                }
            )
        if sandbox_fault and count >= 3:
            self.expected.append("GEN100")
        return out

    # logs -----------------------------------------------------------------------------------------
    def _copy_logs(self, ns: str) -> None:
        """Template logs of system pods stay; the CNI agents get noise of --log-bytes in all."""
        for d in sorted((self.template / "cluster" / ns).iterdir()):
            if not d.is_dir():
                continue
            owner_ds = self._owner_ds(ns, d.name)
            if owner_ds:
                continue  # per-node DaemonSet pods: written below from the worker's log
            node = self._pod_node(ns, d.name) or self.control
            index = self._template_index(node)
            mapping = self.rewriter.mapping(node, index, self.node_names[index - 1])
            for f in sorted(d.iterdir()):
                target = self.out / "cluster" / ns / d.name / f.name
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(Rewriter.apply(f.read_text(errors="replace"), mapping))
        if ns == self._agent_namespace():
            self._agent_logs(ns)

    def _agent_namespace(self) -> str | None:
        return self.agent_pods[0][0] if self.agent_pods else None

    def _owner_ds(self, ns: str, pod: str) -> str | None:
        for p in self._items(f"cluster/{ns}/pods.json"):
            if p["metadata"]["name"] == pod:
                refs = p["metadata"].get("ownerReferences") or [{}]
                return refs[0].get("name") if refs[0].get("kind") == "DaemonSet" else None
        return None

    def _pod_node(self, ns: str, pod: str) -> str | None:
        for p in self._items(f"cluster/{ns}/pods.json"):
            if p["metadata"]["name"] == pod:
                return (p.get("spec") or {}).get("nodeName")
        return None

    def _agent_logs(self, ns: str) -> None:
        tmpl_dir = None
        for p in self._items(f"cluster/{ns}/pods.json"):
            refs = p["metadata"].get("ownerReferences") or [{}]
            if refs[0].get("name") == self.agent_ds and p["spec"].get("nodeName") == self.worker:
                tmpl_dir = self.template / "cluster" / ns / p["metadata"]["name"]
        if tmpl_dir is None:
            return
        agent_pods = [a for a in self.agent_pods if a[0] == ns]
        per_pod = self.args.log_bytes // max(1, len(agent_pods)) if self.args.log_bytes else 0
        tmpl_log = (tmpl_dir / f"{self.agent_container}.log").read_text(errors="replace").splitlines()
        noise = _noise_block(self.args.cni, tmpl_log, self.rng) if per_pod else b""
        for _, pod, node in agent_pods:
            index = self.node_names.index(node) + 1
            mapping = self.rewriter.mapping(self.worker, index, node)
            d = self.out / "cluster" / ns / pod
            d.mkdir(parents=True, exist_ok=True)
            for f in sorted(tmpl_dir.iterdir()):
                if f.name != f"{self.agent_container}.log":
                    (d / f.name).write_text(Rewriter.apply(f.read_text(errors="replace"), mapping))
            head = Rewriter.apply("\n".join(tmpl_log) + "\n", mapping).encode()
            with open(d / f"{self.agent_container}.log", "wb") as out:
                out.write(head)
                written = len(head)
                fault_at = (
                    per_pod * 3 // 4 if (self.args.faults and node == f"node-{self.fault_node}" and per_pod) else -1
                )
                while written < per_pod:
                    chunk = noise[: per_pod - written]
                    chunk = chunk[: chunk.rfind(b"\n") + 1] or chunk
                    if 0 <= fault_at < written + len(chunk):
                        line, check_id = LOG_FAULTS[self.args.cni]
                        out.write(chunk)
                        out.write(line.format(node=node).encode() + b"\n")
                        written += len(chunk) + len(line) + 1
                        if check_id:
                            self.expected.append(check_id)
                        fault_at = -1
                        continue
                    out.write(chunk)
                    written += len(chunk)

    # cluster-scoped custom resources and node state ------------------------------------------------
    def write_cluster_crds(self) -> None:
        for f in sorted((self.template / "cluster").glob("*.json")):
            if f.name == "nodes.json":
                continue
            items = self._items(f"cluster/{f.name}")
            per_node = [o for o in items if self.worker in json.dumps(o)]
            shared = [o for o in items if not any(n in json.dumps(o) for n in self.facts)]
            out = [self.rewrite(o, 1) for o in shared]
            if per_node:
                for i in range(1, self.args.nodes + 1):
                    for o in per_node:
                        clone = json.loads(
                            Rewriter.apply(json.dumps(o), self.rewriter.mapping(self.worker, i, self.node_names[i - 1]))
                        )
                        clone["metadata"]["name"] = Rewriter.apply(
                            o["metadata"]["name"], self.rewriter.mapping(self.worker, i, self.node_names[i - 1])
                        )
                        out.append(clone)
            self._write(f"cluster/{f.name}", {"kind": _list_kind(f), "apiVersion": "v1", "items": out})

    def write_node_state(self) -> None:
        src = self.template / "nodes" / self.worker
        if not src.is_dir():
            return
        files = [p for p in sorted(src.rglob("*")) if p.is_file()]
        texts = {p.relative_to(src).as_posix(): p.read_text(errors="replace") for p in files}
        remote = [n for n in self.facts if n != self.worker][-1]
        routes = json.loads(texts.pop("ip-route.json", "[]"))
        remote_prefixes = tuple(self.facts[remote]["prefixes"])
        others = tuple(p for n, f in self.facts.items() if n not in (self.worker, remote) for p in f["prefixes"])
        per_remote = [r for r in routes if str(r.get("dst", "")).startswith(remote_prefixes)]
        local = [r for r in routes if not str(r.get("dst", "")).startswith(remote_prefixes + others)]
        for i in range(1, min(self.args.node_state, self.args.nodes) + 1):
            name = self.node_names[i - 1]
            mapping = self.rewriter.mapping(self.worker, i, name)
            for rel, text in texts.items():
                target = self.out / "nodes" / name / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_text(Rewriter.apply(text, mapping))
            # one route per remote node, as the CNI installs them
            out = json.loads(Rewriter.apply(json.dumps(local), mapping))
            tmpl = json.dumps(per_remote)
            for j in range(1, self.args.nodes + 1):
                if j != i:
                    both = {**mapping, self.facts[remote]["ip"]: node_ip(j), remote: self.node_names[j - 1]}
                    for r in json.loads(Rewriter.apply(tmpl, both)):
                        r["dst"] = self._remote_dst(remote, str(r["dst"]), j)
                        out.append(r)
            if routes:
                (self.out / "nodes" / name / "ip-route.json").write_text(json.dumps(out, separators=(",", ":")))

    def _remote_dst(self, remote: str, dst: str, j: int) -> str:
        """The pod range of node J that takes the place of template node REMOTE's range DST."""
        slot = self.facts[remote]["prefixes"].index(_prefix(dst))
        worker = next(
            c for c in self.facts[self.worker]["cidrs"] if _prefix(c) == self.facts[self.worker]["prefixes"][slot]
        )
        return node_prefixes(j)[slot] + worker.split(".", 3)[3]

    def write_manifest(self) -> None:
        manifest = (
            json.loads((self.template / "manifest.json").read_text())
            if (self.template / "manifest.json").is_file()
            else {"format": 1}
        )
        manifest["synthetic"] = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(self.args).items()}
        self._write("manifest.json", manifest)
        # consequences of the injected faults that checks may also (rightly) report
        allowed = {"GEN008", "GEN103", "CIL051", "MUL008", "GEN134"}
        doc = {"expected": sorted(set(self.expected)), "allowed": sorted(allowed - set(self.expected))}
        (self.out.parent / f"{self.out.name}.expected.json").write_text(json.dumps(doc) + "\n")

    # helpers --------------------------------------------------------------------------------------
    def _items(self, rel: str | Path) -> list[dict]:
        path = self.template / rel
        if not path.is_file():
            return []
        doc = json.loads(path.read_text())
        return copy.deepcopy(doc.get("items", []) if isinstance(doc, dict) else doc)

    def _write(self, rel: str, doc: object) -> None:
        path = self.out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(doc, separators=(",", ":")))


def _list_kind(path: Path) -> str:
    try:
        return str(json.loads(path.read_text()).get("kind") or "List")
    except (ValueError, AttributeError):
        return "List"


def _suffix(i: int, width: int = 5) -> str:
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    out = ""
    for _ in range(width):
        i, r = divmod(i, len(alphabet))
        out = alphabet[r] + out
    return out


def _noise_block(cni: str, template_lines: list[str], rng: random.Random, size: int = 4 << 20) -> bytes:
    """About SIZE bytes of agent-log noise: the template's own lines with fresh numbers, and routine
    lines of the kind a busy agent prints."""
    routine = {
        "cilium": [
            'level=info msg="Processing API event" subsys=k8s-watcher eventType=update resource=Pod name=web-{n} '
            "namespace=app-{a:03d}",
            'level=debug msg="Upserting endpoint" endpointID={n} identity={m} ipv4=10.128.{a}.{b} '
            "subsys=endpoint-manager",
            'level=info msg="Rewrote endpoint BPF program" containerID={h} datapathPolicyRevision=3 '
            "desiredPolicyRevision=3 endpointID={n} identity={m} ipv4=10.128.{a}.{b} k8sPodName=app-{a:03d}/web-{n} "
            "subsys=endpoint",
            'level=info msg="Policy imported via API, recalculating..." policyAddRequest={h} policyRevision={n} '
            "subsys=daemon",
            'level=info msg="Conntrack garbage collector interval recalculated" deleteRatio=0.0{a} '
            "newInterval=7m30s subsys=map-ct",
        ],
        "calico": [
            "2026-11-21 10:{a:02d}:{b2:02d}.{n3:03d} [INFO][{m}] felix/int_dataplane.go 1{n3:03d}: Received "
            '*proto.WorkloadEndpointUpdate update from calculation graph msg=id:<orchestrator_id:"k8s" '
            'workload_id:"app-{a:03d}/web-{n}" endpoint_id:"eth0" >',
            "2026-11-21 10:{a:02d}:{b2:02d}.{n3:03d} [INFO][{m}] felix/route_table.go 9{n3:03d}: Syncing routes: "
            'adding new route. ifaceName="cali{h}" ifaceRegex="^cali.*" ipVersion=0x4 tableIndex=0',
            "2026-11-21 10:{a:02d}:{b2:02d}.{n3:03d} [INFO][{m}] felix/summary.go 100: Summarising 12 dataplane "
            "reconciliation loops over 1m0s: avg=11ms longest={n3}ms (resync-routes-v4)",
        ],
        "flannel": [
            "I1121 10:{a:02d}:{b2:02d}.{n:06d}       1 watch.go:{n3}] Subnet added: 10.128.{a}.0/24 via 172.16.{b}.{a}",
            "I1121 10:{a:02d}:{b2:02d}.{n:06d}       1 iptables.go:{n3}] Some iptables rules are missing; "
            "deleting and recreating rules",
            "I1121 10:{a:02d}:{b2:02d}.{n:06d}       1 iptables.go:{n3}] Adding iptables rule: -s 10.128.0.0/9 "
            "-d 10.128.0.0/9 -m comment --comment flanneld masq -j RETURN",
        ],
        "multus": [
            '2026-11-21T10:{a:02d}:{b2:02d}Z [verbose] ADD starting CNI request ContainerID:"{h}" '
            'Netns:"/var/run/netns/cni-{h}" IfName:"eth0" Args:"K8S_POD_NAMESPACE=app-{a:03d};'
            'K8S_POD_NAME=web-{n}"',
            "2026-11-21T10:{a:02d}:{b2:02d}Z [verbose] Add: app-{a:03d}:web-{n}:{h}:flannel(flannel):eth0 "
            '{{"cniVersion":"0.3.1","ips":[{{"address":"10.128.{a}.{b}/24"}}]}}',
            '2026-11-21T10:{a:02d}:{b2:02d}Z [verbose] DEL finished CNI request ContainerID:"{h}" '
            'Netns:"" IfName:"eth0"',
        ],
    }[cni]
    lines: list[str] = []
    size_now = 0
    plain = [ln for ln in template_lines if ln.strip()]
    while size_now < size:
        if plain and rng.random() < 0.1:
            line = plain[rng.randrange(len(plain))]
        else:
            line = rng.choice(routine).format(
                n=rng.randrange(100000),
                m=rng.randrange(65536),
                a=rng.randrange(60),
                b=rng.randrange(1, 255),
                b2=rng.randrange(60),
                n3=rng.randrange(1000),
                h=f"{rng.getrandbits(48):012x}",
            )
        lines.append(line)
        size_now += len(line) + 1
    return ("\n".join(lines) + "\n").encode()


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cni", choices=sorted(AGENTS), default="cilium")
    ap.add_argument("--nodes", type=int, default=20)
    ap.add_argument("--pods", type=int, default=None, help="app pods (default: 30 per node)")
    ap.add_argument("--events", type=int, default=None, help="events (default: 20 per node)")
    ap.add_argument("--log-bytes", type=parse_size, default=0, help="agent log bytes in all (e.g. 2GiB)")
    ap.add_argument("--node-state", type=int, default=20, help="nodes that get node-state files")
    ap.add_argument("--faults", action=argparse.BooleanOptionalAction, default=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.pods is None:
        args.pods = 30 * args.nodes
    if args.events is None:
        args.events = 20 * args.nodes
    Generator(args).run()
    print(args.out)


if __name__ == "__main__":
    main()
