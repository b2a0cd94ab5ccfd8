"""Kubernetes access: the only package that imports the official `kubernetes` client.

`errors` and `resources` are plain Python (importable without the client); `config` and `client`
import `kubernetes` and are loaded lazily by the commands that talk to a cluster.
"""
