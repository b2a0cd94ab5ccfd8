"""Pure parsers of node command output: text in, frozen dataclasses out, ParseError on bad input.

Every parser takes `(text, source="<input>")` and raises only `errors.ParseError` (a ValueError that
names the file and line). Modules, one per format:

- `iproute`: `ip -j route show table all`, `ip -j -d link show`, `ip -j addr show`
- `iptables`: iptables-save / iptables-legacy-save / iptables-nft-save (stderr included)
- `nft`: `nft -j list ruleset`
- `owners`: which component owns a chain or table (`cali-` calico, `KUBE-` kube-proxy, ...)
- `sysctl`: `sysctl -a`, and `effective_rp_filter`
- `lsmod`: `lsmod`
- `cniconf`: CNI config files in net.d, and `select_default` (the runtime's pick)
- `kubeconfig`: kubeconfigs CNI plugins keep in net.d (server, token claims)
- `cnibin`: listing of the CNI binary directories
- `cniipam`: host-local reservations (/var/lib/cni/networks)
- `subnetenv`: flannel's subnet.env
- `cilium`: `cilium-dbg status -o json`, `cilium-health status`
- `bpftool`: `bpftool -j map show`
- `birdcl`: `birdcl show protocols`
- `conntrack`: `conntrack -S`
- `resolvconf`: resolv.conf
- `uname`: `uname -a`

Importing this package imports nothing: import the module you need.
"""
