"""A local, read-only Kubernetes API server that serves a bundle over real HTTP (stdlib only).

Used by the tests (the real `kubernetes` client and `kubectl` talk to it) and by `cnidoctor serve`, so
`kubectl get pods -A` works against a customer's bundle. It enforces a ClusterRole, injects faults on
demand and records every request.
"""
