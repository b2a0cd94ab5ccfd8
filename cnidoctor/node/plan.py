"""What to collect from a node: one step per file of `nodes/<node>/` (docs/bundle-format.md).

A step is a list of alternative commands (the first that exists and answers wins: `lsmod`, else
`/proc/modules`), or one of the three composite reads (the CNI config tree, the CNI bin listing, the
host-local reservations) that `gather` builds from small commands. Paths are *host* paths; a runner
that sees the host under a prefix (an agent pod mounting `/etc/cni/net.d` at `/host/etc/cni/net.d`)
gets the prefixed candidates from `NodePaths.candidates`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_CONF_DIR = "/etc/cni/net.d"
DEFAULT_BIN_DIRS = ("/opt/cni/bin",)
OPTIONAL_BIN_DIRS = ("/usr/libexec/cni", "/usr/lib/cni", "/home/kubernetes/bin")  # listed when present
DEFAULT_IPAM_DIR = "/var/lib/cni/networks"
FLANNEL_SUBNET_ENV = "/run/flannel/subnet.env"
RESOLV_CONF = "/etc/resolv.conf"
BIRD_SOCKETS = ("/var/run/calico/bird.ctl", "/var/run/bird/bird.ctl")

# Files a pod has its own copy of: only the host's copy (under the host prefix) is evidence.
HOST_ONLY = frozenset({RESOLV_CONF})


@dataclass(frozen=True)
class NodePaths:
    """Where the node keeps its CNI files, and how the runner sees the host's filesystem.

    `roots` are prefixes tried in order: `("",)` on the node itself or in a probe pod that entered
    the host's mount namespace; `("/host", "")` in an agent pod that mounts host folders under /host.
    """

    cni_conf_dir: str = DEFAULT_CONF_DIR
    cni_bin_dirs: tuple[str, ...] = DEFAULT_BIN_DIRS
    cni_bin_dirs_explicit: bool = False  # True: list exactly these (no optional extras, no binDir from confs)
    cni_ipam_dir: str = DEFAULT_IPAM_DIR
    flannel_subnet_env: str = FLANNEL_SUBNET_ENV
    resolv_conf: str = RESOLV_CONF
    roots: tuple[str, ...] = ("",)

    def candidates(self, host_path: str) -> list[str]:
        """Paths to try for HOST_PATH as the runner sees it, in order."""
        out = []
        for root in self.roots:
            if root == "" and host_path in HOST_ONLY and len(self.roots) > 1:
                continue  # in a pod, its own /etc/resolv.conf is not the node's
            out.append(root.rstrip("/") + host_path if root else host_path)
        return out


@dataclass(frozen=True)
class Step:
    """One file of nodes/<node>/ and how to get it."""

    file: str
    commands: tuple[tuple[str, ...], ...] = ()  # alternatives, tried in order
    kind: str = "command"  # command | file | conf-tree | bin-listing | ipam
    stderr: bool = False  # keep stderr after stdout in the file (iptables-save.txt: warnings matter)
    keep_failure: bool = False  # write the file even when the command fails or is missing (its stderr is evidence)
    iptables: bool = False  # serialised with the node's other iptables/nft commands
    path: str | None = None  # kind "file": the host path to read
    ok_codes: tuple[int, ...] = (0,)

    @property
    def tools(self) -> list[str]:
        return [c[0] for c in self.commands]


def _cmd(file: str, *alternatives: tuple[str, ...], **kw: object) -> Step:
    return Step(file, tuple(alternatives), **kw)  # type: ignore[arg-type]


def build_plan(paths: NodePaths, *, agent_pod: bool = False, skip: frozenset[str] = frozenset()) -> list[Step]:
    """The steps for one node; AGENT_POD adds the agent's own CLI names (`cilium` before `cilium-dbg`)."""
    cilium = [("cilium-dbg", "status", "-o", "json")]
    if agent_pod:
        cilium.append(("cilium", "status", "-o", "json"))
    steps = [
        _cmd("ip-route.json", ("ip", "-j", "route", "show", "table", "all")),
        _cmd("ip-link.json", ("ip", "-j", "-d", "link", "show")),
        _cmd("ip-addr.json", ("ip", "-j", "addr", "show")),
        _cmd("iptables-save.txt", ("iptables-save",), stderr=True, keep_failure=True, iptables=True),
        _cmd("iptables-legacy-save.txt", ("iptables-legacy-save",), stderr=True, iptables=True),
        _cmd("iptables-nft-save.txt", ("iptables-nft-save",), stderr=True, iptables=True),
        _cmd("nft-ruleset.json", ("nft", "-j", "list", "ruleset"), iptables=True),
        _cmd("sysctl.txt", ("sysctl", "-a"), ok_codes=(0, 255)),
        _cmd("modules.txt", ("lsmod",), ("cat", "/proc/modules")),
        Step("cni-net.d", kind="conf-tree", path=paths.cni_conf_dir),
        Step("cni-bin.txt", kind="bin-listing"),
        Step("flannel-subnet.env", kind="file", path=paths.flannel_subnet_env),
        _cmd("cilium-status.json", *cilium),
        _cmd("cilium-health.txt", ("cilium-health", "status")),
        _cmd("bpftool-maps.json", ("bpftool", "-j", "map", "show")),
        _cmd(
            "birdcl-protocols.txt",
            *[("birdcl", "-s", s, "show", "protocols") for s in BIRD_SOCKETS],
            ("birdcl", "show", "protocols"),
        ),
        _cmd("conntrack-stats.txt", ("conntrack", "-S"), ("cat", "/proc/net/stat/nf_conntrack")),
        Step("resolv.conf", kind="file", path=paths.resolv_conf),
        _cmd("kubelet.log", ("journalctl", "-u", "kubelet", "--no-pager", "-o", "short-iso", "-n", "5000")),
        _cmd("dmesg.txt", ("dmesg",)),
        _cmd("uname.txt", ("uname", "-a")),
        Step("cni-ipam.txt", kind="ipam", path=paths.cni_ipam_dir),
    ]
    return [s for s in steps if s.file not in skip]


STEP_FILES = tuple(s.file for s in build_plan(NodePaths()))


@dataclass
class Budget:
    """Limits for one node: per command, per node, per file."""

    command_timeout: float = 30.0
    node_timeout: float = 300.0
    max_bytes: int = 32 << 20
    max_conf_files: int = 64
