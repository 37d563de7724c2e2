"""Load on the HTTP API: closed-loop clients sending varied estimate requests over loopback.

Starts ``tokenfab serve --workers 2`` on a free port of 127.0.0.1 (nothing leaves the
machine), waits for ``/api/v1/health``, then runs ``--clients`` concurrent closed-loop clients
(each sends its next request as soon as the last answer arrives) until ``--requests`` requests
are answered or ``--time-limit-s`` passes, and stops the server. The requests differ in
accelerator, accelerator count, model, region, ownership, precision and token lengths (drawn
with a fixed seed from combinations that fit), so no cache of answers can serve them all.

Prints one table: answered, errors (transport failures and non-200 answers), throughput and
the latency percentiles p50/p95/p99 against the target p95 < 100 ms. The load client runs on
the same machine as the server, so on a 2-core machine the two compete for the cores; the
figures are the whole round trip the client sees.

    python bench/bench_api_load.py                 # 50 clients, 500 requests (make bench)
    python bench/bench_api_load.py --clients 10 --requests 100
    python bench/bench_api_load.py --in-process --requests 1000   # no server: CPU a request

``--in-process`` answers the same varied bodies in this process, as the server's workers do
(``POST /api/v1/estimate``'s operation and JSON writer, without HTTP), and prints the CPU a
request: the part of the server's CPU a change to the estimate moves, measurable while the
machine is busy (the load figures are only meaningful on a quiet one). Beside it, the CPU of
the same bodies answered again (what the first pass derived from the catalog rows is then
cached, as in a server that has been up a while) and sent through the whole ASGI app
(FastAPI's routing, the middleware, the endpoint) without a socket: the difference between
those two is the web framework's share.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

TARGET_P95_MS = 100.0

# model -> accelerators that hold it at the counts drawn below, in its native format or FP8
MODELS = {
    "llama-3.1-8b": ["h100-sxm", "h200-sxm", "b200", "mi300x", "l40s", "a100-sxm-80gb", "gb200"],
    "qwen3-30b-a3b": ["h100-sxm", "h200-sxm", "b200", "mi300x", "a100-sxm-80gb", "mi325x"],
    "gpt-oss-20b": ["h100-sxm", "h200-sxm", "b200", "mi300x", "gb200", "h100-pcie"],
    "llama-3.1-70b": ["h100-sxm", "h200-sxm", "b200", "mi300x", "mi325x", "gb200"],
}
REGIONS = ["us", "eu", "eu-ie", "eu-fi", "japan", "india", "singapore", "us-va", "us-tx", "brazil"]


def requests(n: int, seed: int = 0) -> list[dict]:
    """``n`` estimate bodies, all different: model, accelerator, count, region, ownership,
    lengths."""
    rng = random.Random(seed)
    out, seen = [], set()
    while len(out) < n:
        model = rng.choice(list(MODELS))
        body = {
            "model": model,
            "accelerator": rng.choice(MODELS[model]),
            "accelerators": rng.choice([2, 4, 8] if model == "llama-3.1-70b" else [1, 2, 4, 8]),
            "region": rng.choice(REGIONS),
            "ownership": rng.choice(["buy", "rent"]),
            "input_tokens": rng.randrange(100, 8000, 50),
            "output_tokens": rng.randrange(50, 2000, 50),
        }
        if model == "llama-3.1-70b":
            body["precision"] = "fp8" if body["accelerator"] != "mi300x" else "bf16"
        key = json.dumps(body, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(body)
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def group_cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process and its children (the server's workers), from
    /proc (Linux; NaN elsewhere)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for p in [pid, *map(int, kids)]:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    except OSError:
        return float("nan")
    return total


def start_server(port: int, workers: int) -> subprocess.Popen:
    tokenfab = Path(sys.executable).parent / "tokenfab"
    command = [str(tokenfab), "serve", "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.Popen(
        [*command, "--workers", str(workers)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group: stopped with its workers
    )


def stop_server(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


async def _request(
    host: str, port: int, path: str, body: bytes | None, conn: list, close: bool = False
) -> tuple:
    """One HTTP/1.1 request on a kept-alive connection (``conn`` holds reader and writer);
    returns (status, body). A minimal client keeps the load generator's own CPU small."""
    if not conn:
        conn.extend(await asyncio.open_connection(host, port))
    reader, writer = conn
    method = "POST" if body is not None else "GET"
    head = f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
    if close:
        head += "Connection: close\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
    writer.write(head.encode() + b"\r\n" + (body or b""))
    await writer.drain()
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("server closed the connection")
    status = int(status_line.split()[1])
    length = 0
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b"\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def wait_ready(port: int, proc: subprocess.Popen, timeout_s: float) -> None:
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {proc.stderr.read().decode()[-500:]}")
        try:
            status, _ = await _request("127.0.0.1", port, "/api/v1/health", None, [])
            if status == 200:
                return
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise RuntimeError(f"server not ready after {timeout_s:.0f} s")


async def load(
    port: int, bodies: list[dict], clients: int, time_limit_s: float, keep_alive: bool = False
) -> dict:
    queue = [json.dumps(b).encode() for b in bodies]
    latencies: list[float] = []
    errors: list[str] = []
    deadline = time.monotonic() + time_limit_s

    async def client() -> None:
        conn: list = []
        while queue and time.monotonic() < deadline:
            body = queue.pop()
            t0 = time.perf_counter()
            try:
                status, payload = await _request(
                    "127.0.0.1", port, "/api/v1/estimate", body, conn, close=not keep_alive
                )
            except (OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
                errors.append(f"transport: {exc}")
                conn.clear()
                continue
            latencies.append(time.perf_counter() - t0)
            if not keep_alive:
                conn[1].close()
                conn.clear()
            if status != 200:
                errors.append(f"{status}: {payload[:200].decode(errors='replace')}")
        if conn:
            conn[1].close()

    t0 = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    wall = time.perf_counter() - t0
    return {"latencies_s": latencies, "errors": errors, "wall_s": wall, "unsent": len(queue)}


def run(coro: Any) -> Any:
    """``asyncio.run`` on uvloop where installed (a dependency of the server): the load client
    shares the machine's cores with the server, so its own CPU per request is kept small."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is not built for Windows
        return asyncio.run(coro)
    return uvloop.run(coro)


async def _asgi_post(app: Any, path: str, body: bytes) -> int:
    """One POST through an ASGI app in this process, no socket; returns the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"127.0.0.1"),
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 8000),
    }
    sent: list[dict] = []
    received = False

    async def receive() -> dict:
        nonlocal received
        if received:  # the app reads the body once; a second read waits for a disconnect
            await asyncio.Event().wait()
        received = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return int(sent[0]["status"])


def in_process(n: int, seed: int) -> None:
    """CPU and wall time a request of ``n`` varied estimate bodies, answered in this process:
    by the endpoint's operation and JSON writer, and through the whole ASGI app."""
    from tokenfab import api, operations
    from tokenfab.catalog import default_catalog

    op, catalog = operations.get("estimate"), default_catalog()
    app = api.create_app()

    def answer(body: dict) -> bytes:  # as the endpoint does, without HTTP
        return api._json_response(op.run(body, catalog)).body

    async def through_app(raw: list[bytes]) -> None:
        for body in raw:
            status = await _asgi_post(app, "/api/v1/estimate", body)
            if status != 200:
                raise RuntimeError(f"POST /api/v1/estimate answered {status}")

    for body in requests(20, seed=seed + 1):  # warm-up: imports, catalogs
        answer(body)
    run(through_app([json.dumps(b).encode() for b in requests(20, seed=seed + 2)]))
    bodies = requests(n, seed)
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for body in bodies:
        answer(body)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    cpu1 = time.process_time()
    for body in bodies:
        answer(body)
    cpu_again = time.process_time() - cpu1
    raw = [json.dumps(b).encode() for b in bodies]
    cpu2 = time.process_time()
    run(through_app(raw))
    cpu_app = time.process_time() - cpu2
    print(
        f"In-process estimates: {n} varied bodies (the load's), answered as POST "
        f"/api/v1/estimate answers them without HTTP, again, and through the ASGI app "
        f"without a socket; load average {os.getloadavg()[0]:.1f}"
    )
    print()
    print(
        "| requests | CPU ms a request | wall ms a request | CPU ms again | CPU ms through the ASGI app |"
    )
    print("|---:|---:|---:|---:|---:|")
    print(
        f"| {n} | {cpu / n * 1e3:.2f} | {wall / n * 1e3:.2f} | {cpu_again / n * 1e3:.2f} | "
        f"{cpu_app / n * 1e3:.2f} |"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--time-limit-s", type=float, default=120.0)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--in-process",
        action="store_true",
        help="no server: answer --requests bodies in this process and print the CPU a request",
    )
    ap.add_argument(
        "--keep-alive",
        action="store_true",
        help="each client keeps one connection (default: a connection per request, so the "
        "kernel hands each new request to whichever worker is free to accept it)",
    )
    args = ap.parse_args()
    if not (1 <= args.clients <= 1000 and 1 <= args.requests <= 100_000):
        ap.error("--clients 1 to 1000, --requests 1 to 100000")
    if args.in_process:
        in_process(args.requests, args.seed)
        return 0

    port = free_port()
    proc = start_server(port, args.workers)
    try:
        run(wait_ready(port, proc, 90.0))
        # warm-up: each worker imports and loads the catalogs on its first requests
        run(load(port, requests(20, seed=args.seed + 1), 4, 30.0))
        bodies = requests(args.requests, args.seed)
        server0, client0 = group_cpu_s(proc.pid), time.process_time()
        res = run(load(port, bodies, args.clients, args.time_limit_s, keep_alive=args.keep_alive))
        server_cpu_s = group_cpu_s(proc.pid) - server0
        client_cpu_s = time.process_time() - client0
    finally:
        stop_server(proc)

    lat_ms = np.array(res["latencies_s"]) * 1e3
    p50, p95, p99 = np.percentile(lat_ms, [50, 95, 99]) if lat_ms.size else (np.nan,) * 3
    answered = int(lat_ms.size)
    errors = len(res["errors"]) + res["unsent"]
    ok = errors == 0 and p95 < TARGET_P95_MS
    print(
        f"HTTP API load: {args.clients} closed-loop clients, {args.requests} varied estimate "
        f"requests, server with {args.workers} workers on 127.0.0.1, {os.cpu_count()} cores, "
        f"{'kept-alive connections' if args.keep_alive else 'a connection per request'}; "
        f"load average {os.getloadavg()[0]:.1f} at the end"
    )
    print()
    print("| answered | errors | wall s | requests/s | p50 ms | p95 ms | p99 ms | target |")
    print("|---:|---:|---:|---:|---:|---:|---:|---|")
    print(
        f"| {answered} | {errors} | {res['wall_s']:.2f} | {answered / res['wall_s']:.0f} | "
        f"{p50:.1f} | {p95:.1f} | {p99:.1f} | p95 < {TARGET_P95_MS:.0f} ms, 0 errors: "
        f"{'met' if ok else 'NOT met'} |"
    )
    if answered:
        per = (server_cpu_s + client_cpu_s) / answered
        cores = os.cpu_count() or 1
        print(
            f"\nCPU per request: server {server_cpu_s / answered * 1e3:.2f} ms, load client "
            f"{client_cpu_s / answered * 1e3:.2f} ms. On {cores} otherwise idle cores that CPU "
            f"alone allows {cores / per:.0f} requests/s, so {args.clients} closed-loop clients "
            f"would wait {args.clients * per / cores * 1e3:.0f} ms a request on average "
            "(Little's law); a busier machine gives this script less."
        )
    for e in res["errors"][:5]:
        print(f"  error: {e}")
    if res["unsent"]:
        print(f"  {res['unsent']} requests not sent within {args.time_limit_s:g} s")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
