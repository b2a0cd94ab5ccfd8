from __future__ import annotations

import pytest
from parse_testlib import data, data_dir

from cnidoctor.parse.errors import ParseError
from cnidoctor.parse.kubeconfig import TokenClaims, parse_kubeconfig, token_claims


def test_calico_cni_kubeconfig():
    kc = parse_kubeconfig(data("CA-08-node-2-calico-kubeconfig"), "calico-kubeconfig")
    assert (kc.server, kc.user) == ("https://10.96.0.1:443", "calico")
    assert kc.token.endswith(".REDACTED")
    assert kc.claims == TokenClaims(
        exp=1795255437,
        iat=1795169037,
        nbf=1795169037,
        sub="system:serviceaccount:kube-system:calico-cni-plugin",
        namespace="kube-system",
        service_account="calico-cni-plugin",
        pod=None,
    )


def test_multus_bound_token_lives_one_hour():
    kc = parse_kubeconfig(data_dir("MU-04-node-2-cni-net.d")["multus.d/multus.kubeconfig"])
    assert kc.user == "multus" and kc.claims.pod == "kube-multus-ds-2d711"
    assert kc.claims.exp - kc.claims.iat == 3600


def test_no_token_and_not_a_jwt():
    kc = parse_kubeconfig("clusters:\n- name: c\n  cluster: {server: https://x}\nusers: []\n")
    assert (kc.server, kc.user, kc.token, kc.claims) == ("https://x", None, None, None)
    assert token_claims("opaque-token") is None
    assert token_claims("a.!!!.c") is None


@pytest.mark.parametrize(("text", "line"), [("a: [\n", 2), ("- just\n- a list\n", 1), ("", 1)])
def test_errors(text, line):
    with pytest.raises(ParseError) as exc:
        parse_kubeconfig(text, "kubeconfig")
    assert exc.value.line == line
