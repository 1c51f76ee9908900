"""Generation overhead: achieved requests/s against the bound C/L.

A fake Anthropic server runs in its own process with a fixed latency L (by
default tests/fakeprovider/lean.py, ~0.15 ms of CPU per request, so the server
takes little of the two cores from the clients measured; `--server full` is the
test suite's aiohttp fake); `python -m sdf_corpus generate` runs as a child process at
concurrency C. Reported per C:
  - throughput over the request window (first attempt start -> last attempt end,
    from the ledger) and end to end (process wall time, includes start-up),
    each as a fraction of the bound C/L;
  - average requests in flight (sum of attempt durations / window);
  - CPU seconds per request of the generate process.
Baseline in the same run: the bound C/L itself, and the bare anthropic SDK client
with our transport (C tasks, its own process) as the floor overhead.

    .venv/bin/python benchmarks/bench_generate.py [--latency 0.2] [--conc 16 64 256]
        [--workers 1 2] [--repeat 3] [--warmup 600] [--server lean|full]

With --workers 1 2, each C also runs `generate --workers 2` (the same jobs split
over two processes sharing C and the ledger) right after the one-process run, and
the bare SDK loop in two processes of C/2 tasks each: what a second process gains
a client that does nothing but send requests, the ceiling on this machine.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import PYTHON, ROOT, check, env_with, machine, run_measured

DUMMY_KEY = "sk-ant-bench-DUMMY-KEY-0123456789"
# budget.tokens -> jobs of blog_post (mean ~950 tokens) x 3 stages = requests
TOKENS_PER_REQUEST = 950 / 3


SERVERS = {"lean": "fakeprovider.lean", "full": "fakeprovider.server"}


def start_server(
    latency: float, kind: str = "lean", jitter: float = 0.0
) -> tuple[subprocess.Popen[str], str]:
    spread = ["--jitter", str(jitter)] if jitter else []
    proc = subprocess.Popen(
        [PYTHON, "-m", SERVERS[kind], "--port", "0", "--latency", str(latency), *spread],
        stdout=subprocess.PIPE,
        text=True,
        env=env_with(PYTHONPATH=str(ROOT / "tests")),
    )
    assert proc.stdout is not None
    url = proc.stdout.readline().strip()
    if not url.startswith("http"):
        proc.kill()
        raise SystemExit(f"fake provider did not start (printed {url!r})")
    return proc, url


def proc_cpu(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def write_spec(folder: Path, url: str, conc: int, requests: int) -> Path:
    spec = folder / "spec.yaml"
    tokens = int(requests * TOKENS_PER_REQUEST)
    spec.write_text(
        f"""name: bench-generate
constitution: {ROOT / "constitution" / "example.md"}
genres: [blog_post]
personas: {ROOT / "personas"}
budget: {{tokens: {tokens}, max_rounds: 1}}
backend:
  provider: anthropic
  model: claude-haiku-4-5
  api_base: {url}
  concurrency: {conc}
  timeout: 60
# every job's own stages (the request path measured here, and its count)
ideas: {{pool: false}}
seed: 1
output: {folder / "run"}
""",
        encoding="utf-8",
    )
    return spec


def ledger_window(run_dir: Path) -> tuple[int, float, float, int]:
    """(ok attempts, window seconds, summed attempt seconds, failed attempts)."""
    db = sqlite3.connect(run_dir / "ledger.sqlite")
    try:
        n, t0, t1, busy = db.execute(
            "select count(*), min(started_at), max(finished_at), sum(finished_at - started_at) "
            "from attempts where outcome = 'ok'"
        ).fetchone()
        bad = db.execute("select count(*) from attempts where outcome != 'ok'").fetchone()[0]
    finally:
        db.close()
    return n, (t1 - t0) if n else 0.0, busy or 0.0, bad


def bench_generate(
    url: str, conc: int, latency: float, requests: int, server_pid: int, workers: int = 1
) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="bench-gen-") as tmp:
        spec = write_spec(Path(tmp), url, conc, requests)
        server0 = proc_cpu(server_pid)
        cmd = [
            PYTHON,
            "-m",
            "sdf_corpus",
            "generate",
            str(spec),
            "--no-progress",
            "--workers",
            str(workers),
        ]
        m = run_measured(cmd, env=env_with(ANTHROPIC_API_KEY=DUMMY_KEY))
        check(m, f"generate C={conc} workers={workers}")
        server_cpu = proc_cpu(server_pid) - server0
        n, window, busy, bad = ledger_window(Path(tmp) / "run")
        # The same command on the finished run sends nothing: its CPU is start-up,
        # imports and planning, which the steady per-request figure leaves out.
        idle = run_measured(cmd, env=env_with(ANTHROPIC_API_KEY=DUMMY_KEY))
        check(idle, f"generate C={conc} workers={workers} (nothing left to do)")
    bound = conc / latency
    return {
        "C": conc,
        "workers": workers,
        "requests": n,
        "failed_attempts": bad,
        "bound_rps": bound,
        "window_s": window,
        "window_rps": n / window,
        "window_frac": n / window / bound,
        "wall_s": m.wall_s,
        "e2e_rps": n / m.wall_s,
        "e2e_frac": n / m.wall_s / bound,
        "in_flight": busy / window,
        "cpu_s": m.cpu_s,
        "cpu_ms_per_req": 1000 * m.cpu_s / n,
        "startup_cpu_s": idle.cpu_s,
        "steady_cpu_ms_per_req": 1000 * (m.cpu_s - idle.cpu_s) / n,
        "maxrss_mib": m.maxrss_mib,
        "server_cpu_ms_per_req": 1000 * server_cpu / n,
        "server_cpu_share": server_cpu / m.wall_s,
    }


async def _raw_client(url: str, conc: int, requests: int) -> str:
    """The floor: the same SDK client and transport our anthropic backend uses, with
    requests of the same shape (a constitution-sized cached system prefix), and
    nothing else: no planning, prompts, ledger or retries."""
    import anthropic

    prefix = (ROOT / "constitution" / "example.md").read_text()
    client = anthropic.AsyncAnthropic(
        api_key=DUMMY_KEY,
        base_url=url,
        max_retries=0,
        timeout=60,
        http_client=anthropic.DefaultAioHttpClient(timeout=60),
    )
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await client.messages.create(
                model="claude-haiku-4-5",
                max_tokens=1600,
                system=[{"type": "text", "text": prefix, "cache_control": {"type": "ephemeral"}}],
                messages=[{"role": "user", "content": f"Write blog post {remaining}."}],
            )

    t0, c0 = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker() for _ in range(conc)))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    await client.close()
    return f"{wall} {cpu}"


def bench_raw(
    url: str, conc: int, latency: float, requests: int, server_pid: int, procs: int = 1
) -> dict[str, float]:
    """The bare SDK loop in `procs` processes at once, C/procs tasks each: with procs > 1,
    the most any client gains from a second process on this machine (the ceiling of
    `generate --workers`)."""
    server0 = proc_cpu(server_pid)
    share = requests // procs
    cmd = [PYTHON, __file__, "--raw-client", url, "--conc", str(conc // procs)]
    children = [
        subprocess.Popen([*cmd, "--requests", str(share)], stdout=subprocess.PIPE, text=True)
        for _ in range(procs)
    ]
    outs = [child.communicate()[0].split() for child in children]
    if any(child.returncode for child in children) or any(len(o) != 2 for o in outs):
        raise SystemExit(f"bare SDK client C={conc} x{procs} failed")
    server_cpu = proc_cpu(server_pid) - server0
    window = max(float(o[0]) for o in outs)
    loop_cpu = sum(float(o[1]) for o in outs)
    done = share * procs
    return {
        "C": conc,
        "procs": procs,
        "requests": done,
        "window_s": window,
        "window_rps": done / window,
        "window_frac": done / window / (conc / latency),
        "loop_cpu_ms_per_req": 1000 * loop_cpu / done,
        "server_cpu_ms_per_req": 1000 * server_cpu / done,
    }


def _ratios(rows: list[dict[str, float]], raws: list[dict[str, float]]) -> None:
    """Per run and C, the issue 18 goals: ours / bare SDK (one process, >= 0.9) and
    W workers / one process (>= 1.5 with 2 workers), each from the same repeat."""
    print("\ngoal ratios, per repeat (ours and its baseline from the same run):")
    sdk_ratios: list[float] = []
    worker_ratios: list[float] = []
    ceilings: list[float] = []
    for i, r in enumerate(rows):
        if r["workers"] == 1:
            raw = [x for x in raws if x["C"] == r["C"] and x["procs"] == 1]
            k = sum(1 for x in rows[:i] if x["C"] == r["C"] and x["workers"] == 1)
            if k < len(raw):
                ratio = r["window_rps"] / raw[k]["window_rps"]
                sdk_ratios.append(ratio)
                ours, sdk = r["steady_cpu_ms_per_req"], raw[k]["loop_cpu_ms_per_req"]
                print(
                    f"  C={r['C']:<4} ours / bare SDK throughput: {ratio:.3f} (goal >= 0.9, "
                    f"{'met' if ratio >= 0.9 else 'not met'}); CPU per request, steady: "
                    f"ours {ours:.2f} ms, SDK {sdk:.2f} ms, SDK/ours {sdk / ours:.3f}"
                )
        else:
            one = [x for x in rows[:i] if x["C"] == r["C"] and x["workers"] == 1]
            if one:
                ratio = r["window_rps"] / one[-1]["window_rps"]
                worker_ratios.append(ratio)
                print(
                    f"  C={r['C']:<4} {r['workers']} workers / 1 process: {ratio:.3f} (window; "
                    f"goal >= 1.5, {'met' if ratio >= 1.5 else 'not met'}), "
                    f"{r['e2e_rps'] / one[-1]['e2e_rps']:.3f} (end to end)"
                )
                k = len(one) - 1
                sdk1 = [x for x in raws if x["C"] == r["C"] and x["procs"] == 1]
                sdkw = [x for x in raws if x["C"] == r["C"] and x["procs"] == r["workers"]]
                if k < len(sdk1) and k < len(sdkw):
                    ceilings.append(sdkw[k]["window_rps"] / sdk1[k]["window_rps"])
                    print(
                        f"  C={r['C']:<4} the bare SDK's own {r['workers']} processes / 1: "
                        f"{sdkw[k]['window_rps'] / sdk1[k]['window_rps']:.3f} (the ceiling "
                        "this machine leaves any client, same run)"
                    )
    for label, values in (
        ("ours / bare SDK", sdk_ratios),
        ("workers / 1 process", worker_ratios),
        ("bare SDK processes / 1", ceilings),
    ):
        if values:
            shown = ", ".join(f"{v:.3f}" for v in values)
            print(f"  median {label}: {statistics.median(values):.3f} (of {shown})")


def _load() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--conc", type=int, nargs="+", default=[16, 64, 256])
    ap.add_argument("--requests", type=int, default=1200, help="about this many requests per run")
    ap.add_argument("--no-raw", action="store_true", help="skip the bare SDK baseline")
    ap.add_argument(
        "--workers",
        type=int,
        nargs="+",
        default=[1],
        help="`generate --workers` values to run at each C (e.g. 1 2)",
    )
    ap.add_argument("--repeat", type=int, default=1, help="runs of every measurement")
    ap.add_argument(
        "--jitter",
        type=float,
        default=0.0,
        help="lean server only: each answer waits L x (1 +/- up to this fraction), uniformly; "
        "0 (the default) is a fixed L, whose answers return in synchronised waves",
    )
    ap.add_argument(
        "--warmup",
        type=int,
        default=600,
        help="requests of one generate run and one SDK run first, not reported (0: none); "
        "the first runs after start-up were the slowest of a session",
    )
    ap.add_argument(
        "--server",
        choices=sorted(SERVERS),
        default="lean",
        help="lean: canned answers from a plain asyncio server (~0.1 ms CPU per request); "
        "full: the test suite's aiohttp fake (~0.6 ms), whose CPU competes with the clients",
    )
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--raw-client", metavar="URL", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.raw_client:
        print(asyncio.run(_raw_client(args.raw_client, args.conc[0], args.requests)))
        return
    print(
        f"machine: {machine()}; load average {_load()} at start\n"
        f"latency L = {args.latency * 1000:.0f} ms"
        + (f" +/- {args.jitter:.0%} (uniform)" if args.jitter else " (fixed)")
        + f"; fake provider ({args.server}, "
        f"{SERVERS[args.server]}) in its own process"
    )
    if args.jitter and args.server != "lean":
        ap.error("--jitter needs --server lean")
    server, url = start_server(args.latency, args.server, args.jitter)
    rows, raws = [], []
    try:
        if args.warmup:
            bench_generate(url, args.conc[-1], args.latency, args.warmup, server.pid)
            if not args.no_raw:
                bench_raw(url, args.conc[-1], args.latency, args.warmup, server.pid)
        # Interleaved, so a change in the machine's load hits every variant alike.
        for _ in range(args.repeat):
            for conc in args.conc:
                for w in args.workers:
                    rows.append(
                        bench_generate(url, conc, args.latency, args.requests, server.pid, w)
                    )
                if not args.no_raw:
                    for w in args.workers:
                        raws.append(
                            bench_raw(url, conc, args.latency, args.requests, server.pid, w)
                        )
    finally:
        server.terminate()
        server.wait()
    print("\nsdf-corpus generate (blog_post, 3 stages per job)")
    print(
        f"{'C':>4} {'W':>2} {'reqs':>5} {'bound/s':>8} {'window/s':>9} {'of bound':>9} "
        f"{'e2e/s':>7} {'e2e frac':>9} {'in flight':>9} {'CPU ms/req':>10} {'RSS MiB':>8} "
        f"{'steady ms/req':>13} {'server ms/req':>13} {'server CPU':>10}"
    )
    for r in rows:
        print(
            f"{r['C']:>4} {r['workers']:>2} {r['requests']:>5} {r['bound_rps']:>8.0f} "
            f"{r['window_rps']:>9.1f} "
            f"{r['window_frac']:>9.3f} {r['e2e_rps']:>7.1f} {r['e2e_frac']:>9.3f} "
            f"{r['in_flight']:>9.1f} {r['cpu_ms_per_req']:>10.2f} {r['maxrss_mib']:>8.0f} "
            f"{r['steady_cpu_ms_per_req']:>13.2f} "
            f"{r['server_cpu_ms_per_req']:>13.2f} {r['server_cpu_share']:>9.0%}"
        )
    if raws:
        print(
            "\nbaseline: bare anthropic SDK loop, same client and transport (same server, same C)"
        )
        print(
            f"{'C':>4} {'P':>2} {'reqs':>5} {'req/s':>8} {'of bound':>9} "
            f"{'loop CPU ms/req':>15} {'server ms/req':>13}"
        )
        for r in raws:
            print(
                f"{r['C']:>4} {r['procs']:>2} {r['requests']:>5} {r['window_rps']:>8.1f} "
                f"{r['window_frac']:>9.3f} "
                f"{r['loop_cpu_ms_per_req']:>15.2f} {r['server_cpu_ms_per_req']:>13.2f}"
            )
    _ratios(rows, raws)
    print(
        "\n'window' = first request start to last request end (ledger); 'e2e' = process wall "
        "time incl. start-up and planning; 'CPU ms/req' includes start-up, 'steady ms/req' "
        "leaves out the CPU of the same command re-run with nothing left to send; 'loop CPU' "
        "of the SDK baseline is its request loop alone ('P' its processes, C/P tasks each); "
        "'server CPU' = the fake server's CPU "
        f"time / wall time (100% = one core saturated). Load average at the end: {_load()}."
    )
    if args.json:
        args.json.write_text(json.dumps({"generate": rows, "raw": raws}, indent=2))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
