"""Parser of CNI network configuration files (/etc/cni/net.d), and the runtime's choice among them.

`parse_cni_config` reads one `.conf`/`.json` (single plugin) or `.conflist` file and records, rather
than raises, the problems for which libcni would refuse to load it. `select_default` reproduces how
containerd and CRI-O pick the default network: files ending in .conf, .conflist or .json, in
lexical (byte) order; CRI-O takes the first one that loads, containerd fails on the first one that
does not.
"""

from __future__ import annotations

import json
import posixpath
from dataclasses import dataclass, field
from typing import Any

from cnidoctor.parse.errors import ParseError

CNI_EXTENSIONS = (".conf", ".conflist", ".json")
_BACKUP_SUFFIXES = (".bak", ".backup", ".orig", ".old", ".save", ".disabled", ".rpmsave", ".rpmnew", "~")
_MULTUS_TYPES = ("multus", "multus-shim")


@dataclass(frozen=True)
class IpamRange:
    subnet: str | None
    range_start: str | None
    range_end: str | None
    gateway: str | None


@dataclass(frozen=True)
class IpamConfig:
    type: str | None  # host-local, calico-ipam, whereabouts, dhcp, static, ...
    subnet: str | None  # host-local's legacy single `subnet`
    ranges: tuple[tuple[IpamRange, ...], ...]  # host-local range sets
    routes: tuple[str, ...]  # `dst` of each route
    pools: tuple[str, ...]  # calico ipv4_pools/ipv6_pools, whereabouts `range`
    raw: dict[str, Any] = field(compare=False, repr=False)

    @property
    def subnets(self) -> tuple[str, ...]:
        """Every subnet or pool the IPAM allocates from, in order."""
        out = [self.subnet] if self.subnet else []
        out += [r.subnet for rs in self.ranges for r in rs if r.subnet]
        out += list(self.pools)
        return tuple(out)


@dataclass(frozen=True)
class CniPlugin:
    type: str | None
    ipam: IpamConfig | None
    capabilities: tuple[str, ...]  # capabilities set to true, e.g. ("portMappings",)
    kubeconfig: str | None  # calico `kubernetes.kubeconfig`, multus `kubeconfig`
    mtu: int | None
    raw: dict[str, Any] = field(compare=False, repr=False)


@dataclass(frozen=True)
class MultusConfig:
    """Settings of a multus (thin) or multus-shim (thick) config."""

    thick: bool  # type multus-shim: the work is done by the multus daemon over a socket
    kubeconfig: str | None
    cluster_network: str | None  # name, file or directory of the primary network
    default_networks: tuple[str, ...]
    delegates: tuple[CniConfig, ...]
    bin_dir: str | None
    conf_dir: str | None
    cni_dir: str | None
    readiness_indicator_file: str | None
    socket_dir: str | None
    namespace: str | None  # multusNamespace


@dataclass(frozen=True)
class CniConfig:
    name: str | None
    cni_version: str | None
    is_conflist: bool
    plugins: tuple[CniPlugin, ...]
    multus: MultusConfig | None  # when the first plugin is multus or multus-shim
    problems: tuple[str, ...]  # why libcni would not load it; empty when it would
    source: str
    raw: dict[str, Any] = field(compare=False, repr=False)

    @property
    def valid(self) -> bool:
        return not self.problems

    @property
    def types(self) -> tuple[str, ...]:
        """Plugin types in chain order, e.g. ("calico", "portmap", "bandwidth")."""
        return tuple(p.type for p in self.plugins if p.type)

    @property
    def ipam(self) -> IpamConfig | None:
        """The IPAM of the first plugin that has one."""
        return next((p.ipam for p in self.plugins if p.ipam is not None), None)


@dataclass(frozen=True)
class CniConfSelection:
    """What the container runtime makes of a CNI configuration directory."""

    selected: str | None  # the default network file: the first candidate that loads
    config: CniConfig | None  # its parsed config
    candidates: tuple[str, ...]  # files with a CNI extension, in the order the runtime reads them
    blocked_by: str | None  # the first candidate when it does not load: containerd stops there
    shadowed: tuple[str, ...]  # loadable candidates after the selected one (not the default)
    errors: dict[str, str]  # candidate -> why it does not load
    backups: tuple[str, ...]  # disabled configs (00-multus.conf.cilium_bak, *.bak, ...)
    ignored: tuple[str, ...]  # everything else: kubeconfigs, files in subdirectories, ...
    configs: dict[str, CniConfig]  # every candidate that parsed as JSON


def _str(d: dict[str, Any], key: str, problems: list[str] | None = None) -> str | None:
    v = d.get(key)
    if v is None or isinstance(v, str):
        return v
    if problems is not None:
        problems.append(f"{key!r} is not a string")
    return None


def _strs(v: Any) -> tuple[str, ...]:
    if isinstance(v, str):
        return (v,)
    if isinstance(v, list):
        return tuple(x for x in v if isinstance(x, str))
    return ()


def _ipam(v: Any) -> IpamConfig | None:
    if not isinstance(v, dict):
        return None
    ranges = []
    raw_ranges = v.get("ranges")
    for rs in raw_ranges if isinstance(raw_ranges, list) else []:
        if isinstance(rs, dict):
            rs = [rs]
        if isinstance(rs, list):
            ranges.append(
                tuple(
                    IpamRange(_str(r, "subnet"), _str(r, "rangeStart"), _str(r, "rangeEnd"), _str(r, "gateway"))
                    for r in rs
                    if isinstance(r, dict)
                )
            )
    routes = v.get("routes")
    route_dsts = tuple(
        r["dst"]
        for r in (routes if isinstance(routes, list) else [])
        if isinstance(r, dict) and isinstance(r.get("dst"), str)
    )
    pools = _strs(v.get("ipv4_pools")) + _strs(v.get("ipv6_pools")) + _strs(v.get("range"))
    return IpamConfig(_str(v, "type"), _str(v, "subnet"), tuple(ranges), route_dsts, pools, raw=v)


def _plugin(d: dict[str, Any], problems: list[str], where: str) -> CniPlugin:
    ptype = _str(d, "type", problems)
    if not ptype:
        problems.append(f"{where}: missing 'type'")
    for key in ("name", "cniVersion"):
        _str(d, key, problems)
    caps = d.get("capabilities")
    if caps is not None and not (isinstance(caps, dict) and all(isinstance(x, bool) for x in caps.values())):
        problems.append(f"{where}: 'capabilities' is not a map of booleans")
    ipam = d.get("ipam")
    if ipam is not None and not (isinstance(ipam, dict) and isinstance(ipam.get("type", ""), str)):
        problems.append(f"{where}: 'ipam' is not an object with a string 'type'")
    kube = d.get("kubernetes")
    kubeconfig = _str(d, "kubeconfig")
    if kubeconfig is None and isinstance(kube, dict):
        kubeconfig = _str(kube, "kubeconfig")
    mtu = d.get("mtu")
    return CniPlugin(
        type=ptype or None,
        ipam=_ipam(ipam),
        capabilities=tuple(k for k, v in caps.items() if v is True) if isinstance(caps, dict) else (),
        kubeconfig=kubeconfig,
        mtu=mtu if isinstance(mtu, int) and not isinstance(mtu, bool) else None,
        raw=d,
    )


def _multus(d: dict[str, Any], thick: bool, source: str, depth: int) -> MultusConfig:
    delegates = []
    raw_delegates = d.get("delegates")
    if isinstance(raw_delegates, list) and depth < 3:
        for i, item in enumerate(raw_delegates):
            if isinstance(item, dict):
                delegates.append(_config(item, f"{source}#delegates[{i}]", "plugins" in item, depth + 1))
    return MultusConfig(
        thick=thick,
        kubeconfig=_str(d, "kubeconfig"),
        cluster_network=_str(d, "clusterNetwork"),
        default_networks=_strs(d.get("defaultNetworks")),
        delegates=tuple(delegates),
        bin_dir=_str(d, "binDir"),
        conf_dir=_str(d, "confDir"),
        cni_dir=_str(d, "cniDir"),
        readiness_indicator_file=_str(d, "readinessindicatorfile"),
        socket_dir=_str(d, "socketDir") or _str(d, "daemonSocketDir"),
        namespace=_str(d, "multusNamespace"),
    )


def _config(d: dict[str, Any], source: str, as_list: bool, depth: int = 0) -> CniConfig:
    problems: list[str] = []
    name = _str(d, "name", problems)
    version = _str(d, "cniVersion", problems)
    plugins: list[CniPlugin] = []
    if as_list:
        if name is None and "name" not in d:
            problems.append("no 'name'")
        raw_plugins = d.get("plugins")
        if raw_plugins is None:
            problems.append("no 'plugins' list" + ("; perhaps this is a single-plugin .conf?" if "type" in d else ""))
        elif not isinstance(raw_plugins, list):
            problems.append("'plugins' is not a list")
        elif not raw_plugins:
            problems.append("no plugins in 'plugins'")
        else:
            for i, p in enumerate(raw_plugins):
                if isinstance(p, dict):
                    plugins.append(_plugin(p, problems, f"plugins[{i}]"))
                else:
                    problems.append(f"plugins[{i}] is not an object")
    else:
        if "type" not in d and "plugins" in d:
            problems.append("no 'type'; perhaps this is a .conflist?")
            plugins = []
        else:
            plugins.append(_plugin(d, problems, "config"))
    multus = None
    if plugins and plugins[0].type in _MULTUS_TYPES:
        multus = _multus(plugins[0].raw, plugins[0].type == "multus-shim", source, depth)
    problems = list(dict.fromkeys(problems))  # a single-plugin .conf is checked as config and as plugin
    return CniConfig(name, version, as_list, tuple(plugins), multus, tuple(problems), source, raw=d)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON literal {name}")


def parse_cni_config(text: str, source: str = "<input>") -> CniConfig:
    """Parse one CNI config file; a `.conflist` name (or a `plugins` key) makes it a list.

    Raises ParseError only when the file is not a JSON object; libcni's other objections are in
    `problems`.
    """
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise ParseError("empty file, expected a JSON object", source, 1)
    try:
        data = json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ParseError(f"invalid JSON: {exc.msg}", source, exc.lineno) from None
    except (ValueError, RecursionError) as exc:
        raise ParseError(f"invalid JSON: {exc}", source, None) from None
    if not isinstance(data, dict):
        raise ParseError("expected a JSON object", source, 1)
    ext = posixpath.splitext(source)[1]
    as_list = ext == ".conflist" if ext in CNI_EXTENSIONS else "plugins" in data
    return _config(data, source, as_list)


def _is_backup(name: str) -> bool:
    base = posixpath.basename(name)
    if base.endswith(_BACKUP_SUFFIXES) or ".dpkg-" in base:
        return True
    stem = posixpath.splitext(base)[0]
    return any(ext in stem for ext in CNI_EXTENSIONS)


def select_default(files: dict[str, str]) -> CniConfSelection:
    """Which file the runtime would use as the default network, given net.d file names -> contents.

    Names containing "/" are files in subdirectories, which libcni does not read.
    """
    candidates = sorted(n for n in files if "/" not in n and posixpath.splitext(n)[1] in CNI_EXTENSIONS)
    others = sorted(n for n in files if n not in candidates)
    configs: dict[str, CniConfig] = {}
    errors: dict[str, str] = {}
    for name in candidates:
        try:
            cfg = parse_cni_config(files[name], name)
        except ParseError as exc:
            errors[name] = str(exc)
            continue
        configs[name] = cfg
        if cfg.problems:
            errors[name] = f"{name}: " + "; ".join(cfg.problems)
    loadable = [n for n in candidates if n not in errors]
    selected = loadable[0] if loadable else None
    return CniConfSelection(
        selected=selected,
        config=configs.get(selected) if selected else None,
        candidates=tuple(candidates),
        blocked_by=candidates[0] if candidates and candidates[0] in errors else None,
        shadowed=tuple(loadable[1:]),
        errors=errors,
        backups=tuple(n for n in others if "/" not in n and _is_backup(n)),
        ignored=tuple(n for n in others if "/" in n or not _is_backup(n)),
        configs=configs,
    )
