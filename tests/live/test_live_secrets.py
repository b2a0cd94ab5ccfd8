"""Secret data never enters a bundle: every kind of secret is seeded into the API data and logs, collected,
and must appear nowhere in the archive (compressed or not), the folder form, or any report format."""

from __future__ import annotations

import gzip
import json
import tarfile

import pytest

from tests.live.conftest import daemonset, kubeconfig, node, pod, served, write_list, write_log

JWT = (
    "eyJhbGciOiJSUzI1NiIsImtpZCI6InNlZWQifQ.eyJpc3MiOiJrdWJlcm5ldGVzL3NlcnZpY2VhY2NvdW50Iiwic3ViIjoic2VlZCJ9"
    ".SEEDjwtSignatureAAAAAAAAAAAAAAAA"
)
WG_KEY = "SEEDwgPrivKeyAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="  # 44 characters, like a WireGuard key
IPSEC_HEX = "5eed5eed0123456789abcdef0123456789abcdef"
PEM_BODY = "SEEDpemMIIEowIBAAKCAQEAx2c3VmYWtla2V5Zm9ydGVzdGluZ29ubHk"
SECRETS = {
    "env-password": "SEEDenvPa55w0rd!",
    "env-token": "SEEDenvTok3n-abcdef",
    "wireguard-env": "SEEDwgEnvKey0123456789abcdefABCDEF0123456=",
    "url-password": "SEEDurlPw9",
    "jwt-env": JWT,
    "last-applied": "SEEDlastApplied",
    "bearer": "SEEDbearer0123456789",
    "configmap-password": "SEEDcmPw-42",
    "kubeconfig-key": "SEEDclientKeyData0123456789==",
    "kubeconfig-token": "SEEDkubeconfigTok3n",
    "embedded-json-token": "SEEDjsonTok3n7",
    "bgp-password-config": "SEEDbgpCfgPw1",
    "pem": PEM_BODY,
    "log-jwt": JWT,
    "log-bgp": "SEEDbirdPw1",
    "log-wireguard": WG_KEY,
    "log-ipsec": IPSEC_HEX,
    "log-url": "SEEDlogUrlPw2",
    "log-kv": "SEEDlogKvPw3x",
}


def seeded_bundle(root):  # noqa: ANN001, ANN201
    write_list(
        root,
        "nodes.json",
        "Node",
        [
            node(
                "node-1",
                annotations={
                    "projectcalico.org/IPv4Address": "192.168.56.11/24",
                    "projectcalico.org/WireguardPublicKey": "PUBLICkeyIsFineToKeepAAAAAAAAAAAAAAAAAAAAAA=",
                },
            )
        ],
    )
    env = [
        {"name": "DB_PASSWORD", "value": SECRETS["env-password"]},
        {"name": "API_TOKEN", "value": SECRETS["env-token"]},
        {"name": "WG_PRIVATE_KEY", "value": SECRETS["wireguard-env"]},
        {"name": "DATABASE_URL", "value": f"postgres://admin:{SECRETS['url-password']}@10.96.0.50:5432/db"},
        {"name": "CONFIG_BLOB", "value": SECRETS["jwt-env"]},
        {"name": "FELIX_LOGSEVERITYSCREEN", "value": "info"},
        {"name": "ETCD_KEY_FILE", "value": "/calico-secrets/etcd-key"},
    ]
    last_applied = json.dumps({"kind": "Pod", "spec": {"password": SECRETS["last-applied"]}})
    pods = [
        pod(
            "kube-system",
            "calico-node-x1",
            "node-1",
            ("calico-node",),
            env=env,
            annotations={
                "kubectl.kubernetes.io/last-applied-configuration": last_applied,
                "example.com/probe": f"Authorization: Bearer {SECRETS['bearer']}",
            },
        ),
        pod("kube-system", "cilium-x2", "node-1", ("cilium-agent",)),
    ]
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
    kube_cfg = (
        "apiVersion: v1\nusers:\n- name: calico\n  user:\n"
        f"    client-key-data: {SECRETS['kubeconfig-key']}\n    token: {SECRETS['kubeconfig-token']}\n"
    )
    write_list(
        root,
        "kube-system/configmaps.json",
        "ConfigMap",
        [
            {
                "metadata": {"name": "calico-config", "namespace": "kube-system"},
                "data": {
                    "db-password": SECRETS["configmap-password"],
                    "calico_backend": "bird",
                    "veth_mtu": "1440",
                    "kubeconfig": kube_cfg,
                    "cni_network_config": json.dumps(
                        {"type": "calico", "policy": {"type": "k8s"}, "token": SECRETS["embedded-json-token"]}
                    ),
                    "bgp_password": SECRETS["bgp-password-config"],
                    "bundle.pem": f"-----BEGIN RSA PRIVATE KEY-----\n{PEM_BODY}\n-----END RSA PRIVATE KEY-----\n",
                },
            },
            {
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {
                    "enable-ipsec": "true",
                    "ipsec-key-file": "/etc/ipsec/keys",
                    "cluster-pool-ipv4-cidr": "10.0.0.0/8",
                },
            },
        ],
    )
    write_log(
        root,
        "kube-system",
        "calico-node-x1",
        "calico-node",
        "\n".join(
            [
                "2026-11-20 10:59:00.000 [INFO] startup: node-1 192.168.56.11",
                f"2026-11-20 10:59:01.000 [INFO] using service account token {SECRETS['log-jwt']}",
                f'2026-11-20 10:59:02.000 [INFO] bird: protocol Mesh_1 {{ password "{SECRETS["log-bgp"]}"; }}',
                f"2026-11-20 10:59:03.000 [INFO] wireguard: PrivateKey = {SECRETS['log-wireguard']}",
                f"2026-11-20 10:59:04.000 [INFO] datastore https://calico:{SECRETS['log-url']}@10.96.0.1:443",
                f"2026-11-20 10:59:05.000 [INFO] config password={SECRETS['log-kv']} loaded",
                "",
            ]
        ),
    )
    write_log(
        root,
        "kube-system",
        "cilium-x2",
        "cilium-agent",
        f'level=info msg="ipsec key" key="3+ rfc4106(gcm(aes)) {IPSEC_HEX} 128" node=192.168.56.11\n',
    )
    return root


def assert_clean(blob: bytes, where: str) -> None:
    leaked = [name for name, value in SECRETS.items() if value.encode() in blob]
    assert not leaked, f"{where} leaks {leaked}"


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    root = seeded_bundle(tmp_path_factory.mktemp("seeded") / "bundle")
    tmp = tmp_path_factory.mktemp("out")
    return root, tmp


def test_no_secret_in_the_archive_bytes_compressed_or_not(collected, run_cli):
    root, tmp = collected
    with served(root) as server:
        code, out, err = run_cli(
            "collect", "-o", str(tmp / "incident.tar.gz"), "--kubeconfig", str(kubeconfig(server, tmp))
        )
    assert code == 0, err
    archive = tmp / "incident.tar.gz"
    assert out.startswith(f"{archive} ") and out.strip().endswith(("KiB", "MiB", "B"))
    raw = archive.read_bytes()
    assert_clean(raw, "compressed archive")
    plain = gzip.decompress(raw)
    assert_clean(plain, "uncompressed tar stream")
    with tarfile.open(archive) as tar:
        names = tar.getnames()
        manifest = json.loads(tar.extractfile("incident/manifest.json").read())
        for member in tar.getmembers():
            assert_clean(tar.extractfile(member).read(), member.name)
    assert "incident/cluster/kube-system/calico-node-x1/calico-node.log" in names
    assert b"10.96.0.50" in plain and b"192.168.56.11" in plain  # addresses are kept
    assert b"PUBLICkeyIsFineToKeep" in plain and b"/etc/ipsec/keys" in plain and b"veth_mtu" in plain
    rules = {r["rule"] for r in manifest["redactions"]}
    assert rules >= {
        "secret-env",
        "url-password",
        "jwt",
        "last-applied-configuration",
        "bearer-token",
        "configmap-secret-key",
        "secret-assignment",
        "private-key",
        "bgp-password",
        "wireguard-key",
        "ipsec-key",
    }
    assert all(r["count"] >= 1 and r["file"].startswith("cluster/") for r in manifest["redactions"])
    assert manifest["cluster"]["context"] == "cnidoctor-bundle"
    assert {"format_version", "cnidoctor_version", "created", "collectors", "gaps", "redactions"} <= set(manifest)


def test_no_secret_in_a_bundle_folder_or_any_report(collected, run_cli):
    root, tmp = collected
    with served(root) as server:
        config = str(kubeconfig(server, tmp, "kc2"))
        reports = {}
        for fmt in ("terminal", "json", "markdown"):
            code, out, err = run_cli(
                "scan",
                "--kubeconfig",
                config,
                "--format",
                fmt,
                "--quiet",
                *(["--save-bundle", str(tmp / "folder")] if fmt == "json" else []),
            )
            assert code in (0, 3, 4), err
            reports[fmt] = out
    for fmt, text in reports.items():
        assert_clean(text.encode(), f"{fmt} report")
    for path in (tmp / "folder").rglob("*"):
        if path.is_file():
            assert_clean(path.read_bytes(), str(path))
