"""What llmmeter adds per Realtime response and per skipped event, in counts that do not move with load.

    .venv/bin/python -m benchmarks.count_realtime [bytecodes|callgrind] [responses|deltas]

The session of ``bench_realtime`` (same server process, same raw websockets client, same providers),
read bare and metered:

* ``bytecodes`` (default): one session of each under ``sys.settrace`` with ``f_trace_opcodes``, every
  thread of the client, after two warm-up sessions; bytecodes per response (``responses``, the
  default: 156 responses of 64 events) or per event (``deltas``: audio deltas only), by part
  (llmmeter, OpenTelemetry API and SDK, websockets, other) and llmmeter's functions. Identical
  from run to run to within a few bytecodes (websockets' reader thread and the span processor's
  locks move by a handful).
* ``callgrind``: each variant in a fresh interpreter under ``valgrind --tool=callgrind
  --dump-before=os_getppid``; one session between two dumps, every thread's instructions (the
  span export thread and websockets' reader too). About 2.5 minutes per variant.

To count an older tree with the same interpreter, run this file by path with that tree first on
the path: ``PYTHONPATH=/path/to/old/tree .venv/bin/python benchmarks/count_realtime.py``.
"""

from __future__ import annotations

import collections
import multiprocessing
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from opentelemetry import metrics, trace

import llmmeter
from benchmarks import bench_realtime as bench
from benchmarks._common import providers
from benchmarks.bytecodes import Key, counting_bytecodes


def _parts(filename: str) -> str:
    if "/llmmeter/" in filename and "site-packages" not in filename:
        return "llmmeter"
    if "opentelemetry/sdk" in filename:
        return "otel-sdk"
    if "opentelemetry" in filename:
        return "otel-api"
    if "websockets" in filename:
        return "websockets"
    return "other"


def _server(mix: str) -> tuple[Any, str]:
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=bench._serve, args=(child,), daemon=True)
    server.start()
    return server, f"ws://127.0.0.1:{parent.recv()}/v1/realtime?model=gpt-realtime&mix={mix}"


def _traced_session(url: str) -> collections.Counter[Key]:
    with counting_bytecodes() as counts:
        _, read = bench._session(url)
    assert read == bench.EVENTS, read
    return counts


def _unit(mix: str) -> tuple[str, int]:
    responses = sum(1 for e in bench._session_events(bench.EVENTS) if '"response.done"' in e[:40])
    return ("response", responses) if mix == "responses" else ("event", bench.EVENTS)


def bytecodes(mix: str) -> None:
    """Print bytecodes per response (or event), bare and metered, by part; llmmeter's functions."""
    tracer_provider, meter_provider = providers()
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    server, url = _server(mix)
    try:
        llmmeter.instrument()
        bench._session(url)
        bench._session(url)
        tracer_provider.force_flush()
        metered = _traced_session(url)
        tracer_provider.force_flush()
        llmmeter.uninstrument()
        bench._session(url)
        bare = _traced_session(url)
    finally:
        server.kill()
    unit, per = _unit(mix)
    for name, counts in (("bare", bare), ("llmmeter", metered)):
        parts: collections.Counter[str] = collections.Counter()
        for (filename, _, _), count in counts.items():
            parts[_parts(filename)] += count
        shares = "  ".join(f"{part}={count / per:,.1f}" for part, count in sorted(parts.items()))
        print(f"{name:9s} bytecodes per {unit}: {sum(counts.values()) / per:10,.1f}   {shares}")
    added = (sum(metered.values()) - sum(bare.values())) / per
    print(f"added per {unit}: {added:,.1f}\nllmmeter's functions, bytecodes per {unit}:")
    for (filename, function, line), count in metered.most_common():
        if _parts(filename) == "llmmeter" and count / per >= 1:
            print(f"{count / per:10,.1f}  {filename.rsplit('/llmmeter/', 1)[-1]}:{line} {function}")


def _worker(variant: str, mix: str) -> None:
    tracer_provider, meter_provider = providers()
    trace.set_tracer_provider(tracer_provider)
    metrics.set_meter_provider(meter_provider)
    server, url = _server(mix)
    try:
        llmmeter.instrument()
        bench._session(url)
        if variant == "bare":
            llmmeter.uninstrument()
        bench._session(url)
        tracer_provider.force_flush()
        os.getppid()  # callgrind dumps what came before
        bench._session(url)
        tracer_provider.force_flush()
        os.getppid()  # and here what the session cost
    finally:
        server.kill()


def _instructions(variant: str, mix: str) -> int:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "callgrind.out"
        command = ["valgrind", "--tool=callgrind", "--dump-before=os_getppid", f"--callgrind-out-file={out}"]
        command += [sys.executable, os.path.abspath(__file__), "--worker", variant, mix]
        root = str(Path(bench.__file__).resolve().parent.parent)  # the tree counted, run by path
        path = os.pathsep.join(filter(None, (root, os.environ.get("PYTHONPATH"))))
        env = {**os.environ, "PYTHONHASHSEED": "0", "PYTHONPATH": path}
        done = subprocess.run(command, capture_output=True, text=True, env=env)
        if done.returncode:
            raise RuntimeError(f"the {variant} worker failed:\n{done.stderr[-3000:]}")
        for line in Path(f"{out}.2").read_text().splitlines():
            if line.startswith("totals:"):
                return int(line.split()[1])
    raise RuntimeError(f"no totals in callgrind's output for {variant}")


def callgrind(mix: str) -> None:
    """Print instructions per response (or event), bare and metered, all threads."""
    unit, per = _unit(mix)
    counts = {}
    for variant in ("bare", "llmmeter"):
        counts[variant] = _instructions(variant, mix)
        print(f"{variant:9s} instructions per {unit}: {counts[variant] / per:12,.0f}", flush=True)
    print(f"added per {unit}: {(counts['llmmeter'] - counts['bare']) / per:+12,.0f}")


def main() -> None:
    """Count as the arguments say (see the module's docstring)."""
    args = sys.argv[1:]
    if args[:1] == ["--worker"]:
        _worker(args[1], args[2])
        return
    mode = args[0] if args else "bytecodes"
    mix = args[1] if len(args) > 1 else "responses"
    {"bytecodes": bytecodes, "callgrind": callgrind}[mode](mix)


if __name__ == "__main__":
    main()
