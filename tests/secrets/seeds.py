"""The secret corpus: each shape with the exact bytes that must never leave the cluster, and where it is seeded.

`api` shapes go into API objects served by the local API server (env vars, args, annotations, config maps,
custom resources, events), `log` shapes into container logs, `node` shapes into files under a fake host
root and into the output of fake node tools (`journalctl`, `birdcl`, `cilium-dbg`) put first on PATH for a
real `cnidoctor node` run. A shape's `secret` is the part that makes it usable: for a JWT the signature,
for a URL the password, for a PEM key its body.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from tests.live.conftest import daemonset, node, pod, write_list, write_log


@dataclass(frozen=True)
class Shape:
    name: str
    where: str  # api | log | node
    secret: str


def _b64(n: int, seed: str) -> str:
    """A base64-looking string of N characters starting with SEED."""
    return (seed + "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/" * 4)[:n]


def _jwt(sig: str) -> str:
    head = base64.urlsafe_b64encode(b'{"alg":"RS256","kid":"seed"}').decode().rstrip("=")
    claims = base64.urlsafe_b64encode(b'{"iss":"kubernetes/serviceaccount","sub":"system:sa"}').decode().rstrip("=")
    return f"{head}.{claims}.{sig}"


def _pem(kind: str, body: str) -> str:
    return f"-----BEGIN {kind}PRIVATE KEY-----\n{body}\n{body[::-1]}\n-----END {kind}PRIVATE KEY-----\n"


BASIC = base64.b64encode(b"admin:S3EDbasicAuthPw").decode()
SHAPES = [
    # API objects
    Shape("env-password", "api", "S3EDenvPassw0rd!"),
    Shape("env-api-token", "api", "S3EDapiTok3n-xyz"),
    Shape("env-client-secret", "api", "S3EDclientSecr3t"),
    Shape("env-wireguard-key", "api", _b64(43, "S3EDwgEnv") + "="),
    Shape("env-aws-secret-access-key", "api", _b64(40, "S3EDawsEnv")),
    Shape("env-url-password", "api", "S3EDurlPw9"),
    Shape("env-jwt-signature", "api", "S3EDjwtEnvSignature_abcdefghij"),
    Shape("env-azure-account-key", "api", _b64(43, "S3EDazureKey") + "="),
    Shape("args-password-flag", "api", "S3EDargPw1x"),
    Shape("annotation-bearer", "api", "S3EDbearer0123456789"),
    Shape("annotation-basic-auth", "api", BASIC),
    Shape("last-applied-configuration", "api", "S3EDlastApplied"),
    Shape("configmap-secret-key", "api", "S3EDcmPw-42"),
    Shape("kubeconfig-client-key-data", "api", "S3EDclientKeyData0123456789=="),
    Shape("kubeconfig-token", "api", "S3EDkubeconfigTok3n"),
    Shape("pem-rsa-in-configmap", "api", "S3EDpemRsaMIIEowIBAAKCAQEAx2c3VmYWtl"),
    Shape("cilium-etcd-password", "api", "S3EDciliumEtcdPw"),
    Shape("hubble-tls-key", "api", "S3EDhubbleTlsMHcCAQEEIBv5"),
    Shape("gcp-service-account-key", "api", "S3EDgcpMIIEvQIBADANBgkqhkiG9w0B"),
    Shape("bgp-peer-password", "api", "S3EDbgpPeerPw"),
    Shape("event-registry-password", "api", "S3EDregistryPw"),
    # container logs
    Shape("log-jwt-signature", "log", "S3EDlogJwtSignature_0123456789"),
    Shape("log-bgp-password", "log", "S3EDbirdPw1"),
    Shape("log-wireguard-key", "log", _b64(43, "S3EDwgLog") + "="),
    Shape("log-ipsec-key", "log", "5eed5eed0123456789abcdef0123456789abcdef"),
    Shape("log-url-password", "log", "S3EDlogUrlPw2"),
    Shape("log-password-assignment", "log", "S3EDlogKvPw3x"),
    Shape("log-pem-escaped", "log", "S3EDlogPemMIIEvgIBADANBgkqhkiG"),
    Shape("log-aws-secret-json", "log", _b64(40, "S3EDawsLog")),
    Shape("log-bearer-header", "log", "S3EDlogBearer987654"),
    Shape("log-ipsec-psk", "log", "S3EDipsecPsk77"),
    # node files and node tool output
    Shape("node-calico-etcd-key", "node", "S3EDnodeEtcdKeyMHcCAQEEIOo"),
    Shape("node-calico-kubeconfig-token", "node", "S3EDnodeCalicoTok"),
    Shape("node-multus-client-key-data", "node", "S3EDmultusKeyData0123=="),
    Shape("node-conflist-k8s-auth-token", "node", "S3EDk8sAuthTok1"),
    Shape("node-kubelet-bearer", "node", "S3EDkubeletBearer55"),
    Shape("node-kubelet-query-token", "node", "S3EDqueryTok77"),
    Shape("node-birdcl-password", "node", "S3EDbirdclPw"),
    Shape("node-wireguard-conf", "node", _b64(43, "S3EDwgNode") + "="),
    Shape("node-cilium-ipsec-key", "node", "5eedc0de0123456789abcdef0123456789abcdef"),
]
S = {s.name: s.secret for s in SHAPES}
assert len(S) == len(SHAPES)


def cluster_bundle(root: Path) -> Path:
    """A small Calico + Cilium cluster whose API objects and logs carry every `api` and `log` shape."""
    write_list(
        root, "nodes.json", "Node", [node("node-1", annotations={"projectcalico.org/IPv4Address": "10.0.0.1/24"})]
    )
    env = [
        {"name": "DB_PASSWORD", "value": S["env-password"]},
        {"name": "API_TOKEN", "value": S["env-api-token"]},
        {"name": "OIDC_CLIENT_SECRET", "value": S["env-client-secret"]},
        {"name": "WG_PRIVATE_KEY", "value": S["env-wireguard-key"]},
        {"name": "AWS_SECRET_ACCESS_KEY", "value": S["env-aws-secret-access-key"]},
        {"name": "DATABASE_URL", "value": f"postgres://admin:{S['env-url-password']}@10.96.0.50:5432/db"},
        {"name": "CONFIG_BLOB", "value": _jwt(S["env-jwt-signature"])},
        {
            "name": "AZURE_STORAGE_CONNECTION_STRING",
            "value": "DefaultEndpointsProtocol=https;AccountName=acct;"
            f"AccountKey={S['env-azure-account-key']};EndpointSuffix=core.windows.net",
        },
        {"name": "FELIX_LOGSEVERITYSCREEN", "value": "info"},
    ]
    gcp = {
        "type": "service_account",
        "project_id": "demo",
        "private_key_id": "0123abcd",
        "private_key": _pem("", S["gcp-service-account-key"]),
        "client_email": "sa@demo.iam.gserviceaccount.com",
    }
    last_applied = json.dumps({"kind": "Pod", "spec": {"containers": [{"password": S["last-applied-configuration"]}]}})
    calico = pod(
        "kube-system",
        "calico-node-x1",
        "node-1",
        ("calico-node",),
        env=env,
        annotations={
            "kubectl.kubernetes.io/last-applied-configuration": last_applied,
            "example.com/probe": f"Authorization: Bearer {S['annotation-bearer']}",
            "example.com/upstream": f"Authorization: Basic {S['annotation-basic-auth']}",
            "example.com/cloud-identity": json.dumps(gcp),
        },
    )
    calico["spec"]["containers"][0]["args"] = ["--v=2", f"--etcd-password={S['args-password-flag']}"]
    pods = [calico, pod("kube-system", "cilium-x2", "node-1", ("cilium-agent",))]
    write_list(root, "kube-system/pods.json", "Pod", pods)
    write_list(
        root,
        "kube-system/daemonsets.json",
        "DaemonSet",
        [
            daemonset("kube-system", "calico-node", "calico/node:v3.28"),
            daemonset("kube-system", "cilium", "quay.io/cilium/cilium:v1.16"),
        ],
        "apps/v1",
    )
    kubeconfig = (
        "apiVersion: v1\nkind: Config\nusers:\n- name: calico\n  user:\n"
        f"    client-key-data: {S['kubeconfig-client-key-data']}\n    token: {S['kubeconfig-token']}\n"
    )
    configmaps = [
        {
            "metadata": {"name": "calico-config", "namespace": "kube-system"},
            "data": {
                "db-password": S["configmap-secret-key"],
                "calico_backend": "bird",
                "veth_mtu": "1440",
                "kubeconfig": kubeconfig,
                "bundle.pem": _pem("RSA ", S["pem-rsa-in-configmap"]),
            },
        },
        {
            "metadata": {"name": "cilium-config", "namespace": "kube-system"},
            "data": {
                "enable-ipsec": "true",
                "ipsec-key-file": "/etc/ipsec/keys",
                "etcd-config": "---\nendpoints:\n- https://etcd.kube-system:2379\nusername: cilium\n"
                f"password: {S['cilium-etcd-password']}\n",
                "hubble-tls-cert": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
                "hubble-tls-key": _pem("EC ", S["hubble-tls-key"]),
            },
        },
    ]
    write_list(root, "kube-system/configmaps.json", "ConfigMap", configmaps)
    write_list(
        root,
        "bgppeers.crd.projectcalico.org.json",
        "BGPPeer",
        [
            {
                "apiVersion": "crd.projectcalico.org/v1",
                "kind": "BGPPeer",
                "metadata": {"name": "tor-1"},
                "spec": {"peerIP": "10.0.0.254", "asNumber": 64512, "password": S["bgp-peer-password"]},
            }
        ],
        "crd.projectcalico.org/v1",
    )
    event = {
        "metadata": {"name": "web.1", "namespace": "kube-system"},
        "involvedObject": {"kind": "Pod", "name": "calico-node-x1", "namespace": "kube-system"},
        "reason": "Failed",
        "type": "Warning",
        "message": "Failed to pull image "
        f'"registry.example.com/calico/node:v3.28": https://robot:{S["event-registry-password"]}@registry.example.com'
        "/v2/: 401 Unauthorized",
        "count": 1,
    }
    write_list(root, "kube-system/events.json", "Event", [event])
    pem_line = json.dumps({"msg": "loaded key", "key": _pem("", S["log-pem-escaped"])})
    write_log(
        root,
        "kube-system",
        "calico-node-x1",
        "calico-node",
        "\n".join(
            [
                "2026-11-20 10:59:00.000 [INFO] startup: node-1 10.0.0.1",
                f"2026-11-20 10:59:01.000 [INFO] using service account token {_jwt(S['log-jwt-signature'])}",
                f'2026-11-20 10:59:02.000 [INFO] bird: protocol Mesh_1 {{ password "{S["log-bgp-password"]}"; }}',
                f"2026-11-20 10:59:03.000 [INFO] wireguard: PrivateKey = {S['log-wireguard-key']}",
                f"2026-11-20 10:59:04.000 [INFO] datastore https://calico:{S['log-url-password']}@10.96.0.1:443",
                f"2026-11-20 10:59:05.000 [INFO] config password={S['log-password-assignment']} loaded",
                f"2026-11-20 10:59:06.000 [INFO] {pem_line}",
                f'2026-11-20 10:59:07.000 [INFO] cloud: {{"SecretAccessKey":"{S["log-aws-secret-json"]}"}}',
                f"2026-11-20 10:59:08.000 [INFO] GET /metrics Authorization: Bearer {S['log-bearer-header']}",
                "",
            ]
        ),
    )
    write_log(
        root,
        "kube-system",
        "cilium-x2",
        "cilium-agent",
        f'level=info msg="ipsec key" key="3+ rfc4106(gcm(aes)) {S["log-ipsec-key"]} 128" node=10.0.0.1\n'
        f'level=info msg="strongswan secrets" line=\'10.0.0.1 10.0.0.2 : PSK "{S["log-ipsec-psk"]}"\'\n',
    )
    return root


def _tool(folder: Path, name: str, output: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\ncat <<'CNIDOCTOR_EOF'\n{output}CNIDOCTOR_EOF\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def node_host(where: Path) -> tuple[Path, dict[str, str]]:
    """A fake host root with every `node` shape in its CNI files, and an env whose PATH finds fake tools."""
    root = where / "host"
    net = root / "etc/cni/net.d"
    (net / "calico-tls").mkdir(parents=True)
    (net / "multus.d").mkdir()
    (net / "calico-tls/etcd-key").write_text(_pem("EC ", S["node-calico-etcd-key"]))
    (net / "calico-tls/etcd-cert").write_text("-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n")
    (net / "calico-kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\nusers:\n- name: calico\n  user:\n"
        f"    token: {S['node-calico-kubeconfig-token']}\n"
    )
    (net / "multus.d/multus.kubeconfig").write_text(
        "apiVersion: v1\nkind: Config\nusers:\n- name: multus\n  user:\n"
        f"    client-key-data: {S['node-multus-client-key-data']}\n"
    )
    conflist = {
        "name": "k8s-pod-network",
        "cniVersion": "0.3.1",
        "plugins": [
            {
                "type": "calico",
                "etcd_key_file": "/etc/cni/net.d/calico-tls/etcd-key",
                "policy": {"type": "k8s", "k8s_auth_token": S["node-conflist-k8s-auth-token"]},
                "kubernetes": {"kubeconfig": "/etc/cni/net.d/calico-kubeconfig"},
            }
        ],
    }
    (net / "10-calico.conflist").write_text(json.dumps(conflist, indent=2))
    (net / "wg0.conf").write_text(f"[Interface]\nPrivateKey = {S['node-wireguard-conf']}\nListenPort = 51820\n")
    (root / "etc/resolv.conf").write_text("nameserver 10.96.0.10\n")
    (root / "opt/cni/bin").mkdir(parents=True)
    (root / "opt/cni/bin/calico").write_text("")
    tools = where / "bin"
    tools.mkdir()
    _tool(
        tools,
        "journalctl",
        f"2026-11-20T10:59:00+0000 node-1 kubelet[1]: request: Authorization: Bearer {S['node-kubelet-bearer']}\n"
        f"2026-11-20T10:59:01+0000 node-1 kubelet[1]: GET https://10.0.0.1:6443/api?token={S['node-kubelet-query-token']}"
        " 401\n",
    )
    _tool(
        tools,
        "birdcl",
        f'BIRD 2.0.8 ready.\nMesh_10_0_0_2 BGP --- up 10:00:00 Established\n  password "{S["node-birdcl-password"]}"\n',
    )
    status = {
        "encryption": {"mode": "IPsec", "ipsec": {"key": f"3+ rfc4106(gcm(aes)) {S['node-cilium-ipsec-key']} 128"}}
    }
    _tool(tools, "cilium-dbg", json.dumps(status) + "\n")
    env = {**os.environ, "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}"}
    return root, env
