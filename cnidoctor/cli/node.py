"""`cnidoctor node -o DIR`: collect this node's network state into a node bundle."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

import typer

from cnidoctor.cli.live import parse_duration
from cnidoctor.errors import UsageError

_SIZE = re.compile(r"^(\d+)\s*(b|kib|k|mib|m|gib|g)?$", re.I)
_UNITS = {None: 1, "b": 1, "k": 1024, "kib": 1024, "m": 1 << 20, "mib": 1 << 20, "g": 1 << 30, "gib": 1 << 30}


def _size(value: str) -> int:
    m = _SIZE.match(value.strip())
    if not m or int(m.group(1)) <= 0:
        raise UsageError(f"--max-bytes {value!r}: not a size", hint="use e.g. 32MiB, 512KiB, 1000000")
    return int(m.group(1)) * _UNITS[m.group(2).lower() if m.group(2) else None]


def node(
    output: Annotated[Path, typer.Option("--output", "-o", help="Node bundle to write: a new folder or PATH.tar.gz.")],
    node_name: Annotated[
        str | None,
        typer.Option("--node-name", envvar="NODE_NAME", help="Kubernetes node name (default: $NODE_NAME, host name)."),
    ] = None,
    cni_conf_dir: Annotated[str, typer.Option("--cni-conf-dir", help="CNI config folder.")] = "/etc/cni/net.d",
    cni_bin_dir: Annotated[
        list[str] | None, typer.Option("--cni-bin-dir", help="CNI binary folder (repeatable; default /opt/cni/bin).")
    ] = None,
    cni_ipam_dir: Annotated[
        str, typer.Option("--cni-ipam-dir", help="host-local IPAM state folder.")
    ] = "/var/lib/cni/networks",
    flannel_subnet_env: Annotated[
        str, typer.Option("--flannel-subnet-env", help="flannel's subnet.env.")
    ] = "/run/flannel/subnet.env",
    resolv_conf: Annotated[str, typer.Option("--resolv-conf", help="The node's resolv.conf.")] = "/etc/resolv.conf",
    host_root: Annotated[
        str | None,
        typer.Option("--host-root", help="Read the node's files under this folder (a container mounting / at /host)."),
    ] = None,
    skip: Annotated[
        list[str] | None, typer.Option("--skip", help="Files not to collect, e.g. --skip dmesg.txt,kubelet.log.")
    ] = None,
    timeout: Annotated[str, typer.Option("--timeout", help="Time per command (30s, 2m).")] = "30s",
    node_timeout: Annotated[str, typer.Option("--node-timeout", help="Time for the whole node (5m).")] = "5m",
    max_bytes: Annotated[str, typer.Option("--max-bytes", help="Output cap per command (e.g. 32MiB).")] = "32MiB",
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No summary on stderr.")] = False,
) -> None:
    """Collect this node's routes, links, iptables/nft, sysctls, CNI config and binaries into a node bundle."""
    from cnidoctor.node.local import collect_local_node, default_node_name
    from cnidoctor.node.plan import STEP_FILES, Budget, NodePaths

    skipped = frozenset(s.strip() for v in skip or [] for s in v.split(",") if s.strip())
    unknown = sorted(skipped - set(STEP_FILES))
    if unknown:
        raise UsageError(f"--skip {unknown[0]!r}: not a node file", hint="one of: " + ", ".join(STEP_FILES))
    for flag, value in (
        ("--cni-conf-dir", cni_conf_dir),
        ("--cni-ipam-dir", cni_ipam_dir),
        ("--flannel-subnet-env", flannel_subnet_env),
        ("--resolv-conf", resolv_conf),
        *(("--cni-bin-dir", d) for d in cni_bin_dir or []),
        *((("--host-root", host_root),) if host_root is not None else ()),
    ):
        if not value.startswith("/"):
            raise UsageError(f"{flag} {value!r}: must be an absolute path")
    paths = NodePaths(
        cni_conf_dir=cni_conf_dir.rstrip("/") or "/",
        cni_bin_dirs=tuple(d.rstrip("/") or "/" for d in cni_bin_dir) if cni_bin_dir else NodePaths.cni_bin_dirs,
        cni_bin_dirs_explicit=bool(cni_bin_dir),
        cni_ipam_dir=cni_ipam_dir.rstrip("/") or "/",
        flannel_subnet_env=flannel_subnet_env,
        resolv_conf=resolv_conf,
        roots=(host_root.rstrip("/"),) if host_root and host_root.rstrip("/") else ("",),
    )
    command_secs, node_secs = parse_duration(timeout, "--timeout"), parse_duration(node_timeout, "--node-timeout")
    if command_secs < 0.1 or node_secs < 1:
        raise UsageError("--timeout must be at least 0.1s and --node-timeout at least 1s")
    budget = Budget(command_timeout=command_secs, node_timeout=node_secs, max_bytes=_size(max_bytes))
    name = node_name or default_node_name()
    result = collect_local_node(output, name, paths=paths, budget=budget, skip=skipped)
    typer.echo(str(result.path))
    if not quiet:
        bad = [c for c in result.record.commands if c.status not in ("ok", "empty")]
        typer.echo(
            f"node {name}: {result.record.files} file(s) in {result.record.seconds:.1f}s, {len(result.gaps)} gap(s)"
            + (
                f" ({', '.join(f'{c.file}: {c.status}' for c in bad[:8])}{' ...' if len(bad) > 8 else ''})"
                if bad
                else ""
            )
            + f"; merge with: cnidoctor analyze CLUSTER-BUNDLE {result.path}",
            err=True,
        )
