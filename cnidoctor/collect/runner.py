"""Run the collectors: phases in order, a bounded worker pool, one global deadline, failures as gaps.

Collection never aborts once the API server has answered: a forbidden, failed or timed-out request is
a gap naming the verb and resource (and, for 403, the RBAC rule that would allow it); when the
deadline passes, whatever was collected is written as a partial bundle.
"""

from __future__ import annotations

import queue
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from cnidoctor import __version__
from cnidoctor.bundle.layout import FORMAT_VERSION
from cnidoctor.bundle.writer import BundleWriter
from cnidoctor.collect.base import Collector, Phase, Task
from cnidoctor.collect.detect import detect
from cnidoctor.collect.nodes.collector import NOT_ENABLED, manifest_nodes
from cnidoctor.collect.progress import Progress
from cnidoctor.collect.session import CollectOptions, Session
from cnidoctor.gcpause import paused_gc
from cnidoctor.kube import errors
from cnidoctor.kube.client import KubeClient
from cnidoctor.model import Gap


@dataclass
class CollectResult:
    path: Path
    manifest: dict
    gaps: list[Gap]
    requests: int
    elapsed: float
    size: int
    timed_out: bool
    cnis: list[str] = field(default_factory=list)


@dataclass
class _PhaseRun:
    done: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def failure_reason(task: Task, exc: errors.KubeError) -> str:
    reason = exc.message if exc.message.startswith(task.what.split(" ")[0]) else f"{task.what}: {exc.message}"
    if isinstance(exc, errors.Forbidden) and task.access is not None:
        reason += f" (allow with the RBAC rule {{{task.access.rule_text()}}}; see deploy/rbac.yaml)"
    return reason


class Runner:
    """One collection run against one cluster."""

    def __init__(
        self,
        client: KubeClient,
        writer: BundleWriter,
        options: CollectOptions,
        collectors: list[Collector],
        *,
        context: str,
        server: str,
        progress: Progress | None = None,
        load_errors: list[str] | None = None,
    ) -> None:
        self.client = client
        self.options = options
        self.collectors = collectors
        self.context = context
        self.server = server
        self.progress = progress or Progress(quiet=True)
        self.session = Session(writer, options)
        self.load_errors = load_errors or []
        self.deadline = 0.0
        self.timed_out = False
        self.records: dict[str, dict] = {}

    # -- the pool -----------------------------------------------------------------------------------
    def _run_tasks(self, tasks: list[tuple[Collector, Task]]) -> None:
        state = _PhaseRun()
        todo: queue.Queue[int] = queue.Queue()
        for i in range(len(tasks)):
            todo.put(i)

        def worker() -> None:
            while True:
                try:
                    i = todo.get_nowait()
                except queue.Empty:
                    return
                collector, task = tasks[i]
                if time.monotonic() >= self.deadline:
                    return
                ok = True
                try:
                    task.run(self.client)
                except errors.KubeError as exc:
                    if exc.status not in task.quiet_statuses:
                        ok = False
                        if not self.session.closed:
                            self.session.gap(task.target, failure_reason(task, exc))
                except Exception as exc:  # a collector bug (or plugin) is a gap, not a crash
                    ok = False
                    self.session.gap(
                        task.target, f"{task.what}: collector {collector.name} failed: {type(exc).__name__}: {exc}"
                    )
                with state.lock:
                    state.done.add(i)
                    if not ok:
                        state.failed.add(i)
                self.progress.advance(ok)

        threads = [
            threading.Thread(target=worker, daemon=True, name=f"cnidoctor-collect-{n}")
            for n in range(min(self.options.workers, len(tasks)))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(max(0.0, self.deadline - time.monotonic()))
        if any(t.is_alive() for t in threads) or not todo.empty():
            self.session.close()  # first, so an abandoned task finishing now cannot write what we call missing
        with state.lock:
            unfinished = [i for i in range(len(tasks)) if i not in state.done]
            failed = set(state.failed)
        if unfinished:
            self.timed_out = True
            self.session.close()
            for i in unfinished:
                _, task = tasks[i]
                self.session.gap(
                    task.target,
                    f"{task.what}: not collected, the global --timeout of {self.options.timeout:g}s was reached",
                )
        for i, (collector, _) in enumerate(tasks):
            rec = self.records[collector.name]
            rec["tasks"] += 1
            if i in unfinished:
                rec["status"] = "timed-out"
            elif i in failed and rec["status"] == "ok":
                rec["status"] = "partial"

    # -- phases -------------------------------------------------------------------------------------
    def _preflight(self) -> None:
        """One request before anything else: an unreachable server or rejected credentials stop here."""
        try:
            self.session.version = self.client.version(retries=1)
        except (errors.Unavailable, errors.Timeout, errors.Unauthorized) as exc:
            self.session.writer.abort()
            detail = exc.message.split(": ", 1)[-1]
            raise type(exc)(
                f"cannot use the API server {self.server} of context {self.context!r}: {detail}",
                hint="check the context (--context), the kubeconfig (--kubeconfig) and the network",
            ) from exc
        except errors.KubeError as exc:
            self.session.gap("version", exc.message)

    def run(self) -> CollectResult:
        with paused_gc():  # pages of thousands of objects are parsed, redacted and encoded: no cycles
            return self._run()

    def _run(self) -> CollectResult:
        started = time.monotonic()
        self.progress.started = started
        created = datetime.now(timezone.utc)
        self.deadline = started + self.options.timeout
        self.client.deadline = self.deadline
        self._preflight()
        for msg in self.load_errors:
            self.session.gap("collectors", msg)
        for c in self.collectors:
            self.records[c.name] = {
                "name": c.name,
                "phase": Phase(c.phase).name.lower(),
                "status": "ok",
                "tasks": 0,
                "duration": 0.0,
            }
        for phase in Phase:
            if phase is Phase.CNI:
                self.session.cnis = detect(self.session)
            planned: list[tuple[Collector, Task]] = []
            for c in self.collectors:
                if c.phase != phase:
                    continue
                try:
                    planned += [(c, t) for t in c.plan(self.session)]
                except Exception as exc:  # a plugin that cannot plan is a gap
                    self.records[c.name]["status"] = "failed"
                    self.session.gap(f"collector {c.name}", f"planning failed: {type(exc).__name__}: {exc}")
            t0 = time.monotonic()
            self.progress.phase(phase.name.lower(), len(planned))
            if planned:
                self._run_tasks(planned)
            for c in self.collectors:
                if c.phase == phase and hasattr(c, "finish"):
                    c.finish(self.session)
            self.session.flush_namespaced(force=True)
            for c in {c.name for c, _ in planned}:
                self.records[c]["duration"] = round(time.monotonic() - t0, 3)
            self.progress.end_phase()
        self.session.close()
        self.progress.stop()
        elapsed = time.monotonic() - started
        manifest = self._manifest(created, elapsed)
        path = self.session.writer.finish(manifest)
        return CollectResult(
            path,
            manifest,
            list(self.session.gaps),
            self.client.request_count,
            elapsed,
            _size(path),
            self.timed_out,
            list(self.session.cnis),
        )

    def _manifest(self, created: datetime, elapsed: float) -> dict:
        o = self.options
        return {
            "format_version": FORMAT_VERSION,
            "cnidoctor_version": __version__,
            "created": created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "elapsed_seconds": round(elapsed, 3),
            "cluster": {
                "server_version": self.session.version.get("gitVersion"),
                "context": self.context,
                "server": self.server,
            },
            "detected_cnis": list(self.session.cnis),
            "collectors": list(self.records.values()),
            "options": {
                "namespace": o.namespace,
                "nodes": o.nodes,
                "since_seconds": o.since_seconds,
                "max_log_bytes": o.max_log_bytes,
                "timeout_seconds": o.timeout,
                "workers": o.workers,
            },
            "requests": {"total": self.client.request_count, "by_kind": self.client.request_summary()},
            "log_streams": self.session.log_streams,
            "timed_out": self.timed_out,
            "nodes": manifest_nodes(self.collectors),
            **({} if o.node_exec or o.node_probe else {"node_state": NOT_ENABLED}),
            "gaps": [g.to_dict() for g in self.session.gaps],
        }


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())
