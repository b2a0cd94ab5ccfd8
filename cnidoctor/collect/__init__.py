"""Live collection: collectors (plugins), the runner (pool, deadline, gaps) and CNI-aware log selection.

Everything here reaches the cluster only through `cnidoctor.kube`; the result is a bundle on disk that
`cnidoctor analyze` reads exactly like any other.
"""
