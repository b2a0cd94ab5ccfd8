"""cnidoctor: diagnose broken Kubernetes pod networking from a snapshot bundle."""

__version__ = "0.1.0"
