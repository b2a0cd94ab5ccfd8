"""JWT redaction keeps what checks read (expiry, subject) and removes what makes the token usable."""

from __future__ import annotations

import base64
import json

from cnidoctor.bundle.redact import Redactor
from cnidoctor.parse.kubeconfig import parse_kubeconfig


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")


def test_jwt_signature_masked_claims_kept():
    signature = "s3cr3tSignatureThatAuthenticatesTheToken_abc123"
    claims = {"exp": 1763600000, "sub": "system:serviceaccount:kube-system:multus"}
    token = f"{_b64({'alg': 'RS256', 'kid': 'k1'})}.{_b64(claims)}.{signature}"
    kubeconfig = f"apiVersion: v1\nkind: Config\nusers:\n- name: multus\n  user:\n    token: {token}\n"
    r = Redactor()
    out = r.text(kubeconfig, "nodes/node-1/cni-net.d/multus.d/multus.kubeconfig")
    assert signature not in out and token not in out
    claims = parse_kubeconfig(out, "multus.kubeconfig").claims
    assert claims.exp == 1763600000 and claims.sub == "system:serviceaccount:kube-system:multus"
    assert r.summary() == [{"rule": "jwt", "file": "nodes/node-1/cni-net.d/multus.d/multus.kubeconfig", "count": 1}]
