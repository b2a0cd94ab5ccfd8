"""Parser of resolv.conf, as lenient as the resolver: unknown keywords are ignored."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ResolvConf:
    nameservers: tuple[str, ...]
    search: tuple[str, ...]  # `search` (or `domain`, which the last of them wins over)
    options: tuple[str, ...]  # e.g. ("edns0", "trust-ad", "ndots:5")

    def option(self, name: str) -> str | None:
        """The value of an option such as `ndots` ("5"), "" for a flag that is set, None if absent."""
        value = None
        for opt in self.options:
            key, _, v = opt.partition(":")
            if key == name:
                value = v
        return value


def parse_resolv_conf(text: str, source: str = "<input>") -> ResolvConf:
    """Parse resolv.conf: nameserver, search/domain and options lines; comments start with # or ;."""
    nameservers: list[str] = []
    search: tuple[str, ...] = ()
    options: list[str] = []
    for raw in text.splitlines():
        fields = raw.split()
        if not fields or fields[0].startswith(("#", ";")):
            continue
        key, args = fields[0], fields[1:]
        if key == "nameserver" and args:
            nameservers.append(args[0])
        elif key == "search":
            search = tuple(args)
        elif key == "domain" and args:
            search = (args[0],)
        elif key == "options":
            options.extend(args)
    return ResolvConf(tuple(nameservers), search, tuple(options))
