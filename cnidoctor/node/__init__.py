"""Node state: the commands that show a node's network (`ip`, `iptables-save`, `sysctl`, CNI files...).

One plan of commands (`plan`), run through a `CommandRunner` (`runner`): locally by `cnidoctor node`,
or, from `cnidoctor.collect.nodes`, inside the CNI agent pod or a probe pod through the API. `gather`
applies the budgets (per-command timeout, per-node deadline, output caps, iptables serialised) and turns
every failure into a gap. Nothing here imports the `kubernetes` client.
"""
