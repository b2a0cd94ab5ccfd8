"""Run many `cnidoctor` invocations cheaply: one warm process forks a child per run.

Started as `python -m tests.hostile.forkserver`; reads one JSON batch on stdin and writes one JSON
result list on stdout. The parent imports cnidoctor and loads the built-in catalog once (the slow part
of every start) and, given CNIDOCTOR_WARM_BUNDLE, analyses that bundle once so the checks' modules are
imported; each child then sets RLIMIT_AS, changes to its own working folder, points fd 1 and 2
at files and calls the real console entry point `cnidoctor.cli.app:main` with the job's argv. A child
that outlives its timeout is killed. Results carry the exit status, the signal and the peak RSS.

A job: {"id", "args", "cwd", "stdout", "stderr", "env", "timeout", "mem"}.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import time
import traceback

TRACEBACK_EXIT = 99  # the child caught something main() let escape


def _child(job: dict) -> None:
    code = TRACEBACK_EXIT
    try:
        mem = int(job["mem"])
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.chdir(job["cwd"])
        for fd, path in ((1, job["stdout"]), (2, job["stderr"])):
            out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(out, fd)
            os.close(out)
        os.environ.update(job.get("env") or {})
        sys.argv = ["cnidoctor", *job["args"]]
        from cnidoctor.cli.app import main

        main()
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        traceback.print_exc()
        code = TRACEBACK_EXIT
    finally:
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except BaseException:  # noqa: S110 - the exit code says enough
            pass
    os._exit(code)


def _warm() -> None:
    """Import everything a run needs and load the catalog once; children inherit it."""
    import cnidoctor.catalog.loader as loader
    import cnidoctor.cli.app  # noqa: F401
    import cnidoctor.diagnose.engine  # noqa: F401
    import cnidoctor.render.jsonout  # noqa: F401
    import cnidoctor.render.markdown  # noqa: F401
    import cnidoctor.render.terminal  # noqa: F401

    builtin = loader.load_catalog()
    original = loader.load_catalog
    warm = os.environ.get("CNIDOCTOR_WARM_BUNDLE")
    if warm:  # one run per format imports the checks' own modules and typer's lazy parts
        from cnidoctor.cli.app import main as cli_main

        for fmt in ("json", "terminal", "markdown"):
            sys.argv = ["cnidoctor", "analyze", warm, "-f", fmt, "-o", os.devnull]
            with contextlib.suppress(SystemExit):
                cli_main()

    def cached(extra=None):  # type: ignore[no-untyped-def]
        return list(builtin) if not extra else original(extra)

    loader.load_catalog = cached


def run_batch(jobs: list[dict], parallel: int) -> list[dict]:
    pending = list(jobs)
    running: dict[int, tuple[dict, float]] = {}
    results: dict[str, dict] = {}
    while pending or running:
        while pending and len(running) < parallel:
            job = pending.pop(0)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:
                _child(job)
            running[pid] = (job, time.monotonic())
        done = False
        for pid, (job, started) in list(running.items()):
            wpid, status, usage = os.wait4(pid, os.WNOHANG)
            elapsed = time.monotonic() - started
            if wpid == 0:
                if elapsed > job["timeout"]:
                    os.kill(pid, signal.SIGKILL)
                    _, status, usage = os.wait4(pid, 0)
                    results[job["id"]] = _result(status, usage, elapsed, timed_out=True)
                    del running[pid]
                    done = True
                continue
            results[job["id"]] = _result(status, usage, elapsed, timed_out=False)
            del running[pid]
            done = True
        if not done:
            time.sleep(0.01)
    return [results[j["id"]] | {"id": j["id"]} for j in jobs]


def _result(status: int, usage: resource.struct_rusage, elapsed: float, timed_out: bool) -> dict:
    return {
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "maxrss_kib": usage.ru_maxrss,
        "seconds": round(elapsed, 3),
        "timed_out": timed_out,
    }


def main() -> None:
    request = json.loads(sys.stdin.read())
    _warm()
    results = run_batch(request["jobs"], int(request.get("parallel", 2)))
    sys.stdout.write(json.dumps(results))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
