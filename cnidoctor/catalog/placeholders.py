"""Remediation text placeholders: `{node}`, `{pod}`, `{namespace}` and regex groups, filled from evidence;
and the quoting a check's own code uses when it composes a whole command from bundle values.
"""

from __future__ import annotations

import re
import shlex
import string
from collections.abc import Iterable

# A word that is safe unquoted in a shell command: name and path characters only, not starting with `-`.
_SAFE_WORD = re.compile(r"[A-Za-z0-9_/][A-Za-z0-9._:/,=@%+-]*")
# Values a check's own code composed as whole commands (it quotes what it puts in them with `shell_quote`).
_COMPOSED = ("fix", "restart", "inspect")


class _Defaulting(dict):
    def __missing__(self, key: str) -> str:
        return f"<{key}>"


def fill(template: str, values: dict[str, str]) -> str:
    """Fill placeholders from VALUES; unknown ones read `<name>`, `{{`/`}}` become braces."""
    try:
        return string.Formatter().vformat(template, (), _Defaulting(values))
    except (ValueError, IndexError, KeyError, AttributeError):
        return template


def shell_safe(values: dict[str, str]) -> dict[str, str]:
    """The VALUES that may be pasted into a command unquoted: space-separated words of name characters.

    Values come from the bundle (a node name, a log's captured group); one holding `$(...)`, `;`, quotes
    or a leading `-` would inject into the command a reader copies, so it stays a `<key>` placeholder.
    """
    return {
        k: v
        for k, v in values.items()
        if v == "" or k.endswith("command") or k in _COMPOSED or all(_SAFE_WORD.fullmatch(w) for w in v.split(" "))
    }


def shell_quote(value: object) -> str:
    """VALUE as one shell word, for a command a check composes: `shlex.quote`, so `a; rm -rf /`, `$(id)` or a
    space stay inside the word and a plain name (`kube-system`, `/etc/cni/net.d`) reads unchanged.

    A value starting with `-` gets `./` in front: quoting cannot stop a command from reading a word as an
    option (`ssh -oProxyCommand=...`), no Kubernetes name starts with `-`, and for a path it is the same file.
    """
    text = str(value)
    return shlex.quote(f"./{text}" if text.startswith("-") else text)


def shell_join(values: Iterable[object]) -> str:
    """VALUES as shell words, each quoted by `shell_quote`, separated by spaces."""
    return " ".join(shell_quote(v) for v in values)


def shell_comment(value: object) -> str:
    """VALUE for the text after a `#` in a command: on one line (a line break would end the comment there)."""
    return " ".join(str(value).split())


def ssh_command(host: object, remote: str) -> str:
    """`ssh HOST REMOTE`, REMOTE being a command line for the node's shell whose values are already quoted
    with `shell_quote`: ssh hands it to that shell as one string, so it is quoted once more for the local
    shell, as plainly as its characters allow: bare words, '...', or "..." around single quotes."""
    if remote and all(shlex.quote(w) == w for w in remote.split(" ")):
        quoted = remote  # plain words: ssh joins its arguments with spaces, the node's shell reads the same line
    elif "'" in remote and not set(remote) & set("$`\\!"):
        quoted = '"' + remote.replace('"', '\\"') + '"'  # nothing else is special inside "..."
    else:
        quoted = shlex.quote(remote)
    return f"ssh {shell_quote(host)} {quoted}"
