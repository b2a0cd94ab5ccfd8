"""Node state from a live cluster: exec into the CNI agent pod, else a probe pod, else a gap (opt-in).

`collector.NodeStateCollector` plugs into the live runner; `fallback.collect_nodes_state` is the same
logic behind the `NodeAccess` seam; `kubeexec.ExecRunner` and `probe.KubeNodeAccess` reach the API.
"""
