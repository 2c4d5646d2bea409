"""`distro bench orders`: order submit throughput and latency on PostgreSQL.

Creates a throwaway database, fills it with dealers and products with ample stock and
credit, then lets one thread per dealer submit 5-line orders for a fixed time. The dealer
threads are spread over worker processes, as the app spreads its users over server workers.
Reports orders per second and p50/p95 submit latency.

Two modes: `backbone` calls `submit_order` in the worker processes. `api` starts the FastAPI
app with uvicorn on a free loopback port against the same database, and POSTs to
/api/v1/orders with an API token scoped to each dealer. In API mode the client threads
share the machine's cores with the server, as they would on a one-box install.

Two kinds of load: closed (the default), where each dealer submits again as soon as its
last order is confirmed, which finds the most orders per second the system completes; and
open (`--rate`), where orders arrive at a fixed total rate at random moments (Poisson), which
measures the latency dealers see at that rate. An open-load latency counts from the moment
the order was due, so a submit that waited behind a slow one is charged for the wait.
"""

from __future__ import annotations

import http.client
import json
import logging
import multiprocessing
import os
import random
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from datetime import date, timedelta

import click
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from distro.backbone.accounts import create_api_token
from distro.backbone.actors import Actor
from distro.backbone.models import Dealer, PriceTier, Product, Role, Stock, TierPrice, Warehouse
from distro.backbone.orders import LineRequest, submit_order
from distro.db import make_engine, upgrade_database

DEFAULT_ADMIN_URL = "postgresql+psycopg://root@127.0.0.1:5432/postgres"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class BenchResult:
    """Outcome of one throughput run."""

    mode: str
    orders: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float

    @property
    def orders_per_second(self) -> float:
        """Accepted orders divided by the wall-clock time of the run."""
        return self.orders / self.seconds if self.seconds else 0.0


def percentile(values: list[float], fraction: float) -> float:
    """Return the value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered)) - 1))
    return ordered[rank]


def seed_bench_network(engine, dealers: int, products: int) -> tuple[list[int], list[str]]:
    """Create one depot, `products` products with a million units each and `dealers` dealers."""
    with Session(engine, expire_on_commit=False) as session:
        depot = Warehouse(code="BENCH-WH", name="Bench depot", latitude=-22.9, longitude=-47.06)
        tier = PriceTier(code="bench", name="Bench tier")
        session.add_all([depot, tier])
        session.flush()
        skus = []
        for index in range(products):
            product = Product(sku=f"B-{index:04d}", name=f"Bench product {index}", weight_kg=1.5)
            session.add(product)
            session.flush()
            session.add(TierPrice(tier_id=tier.id, product_id=product.id, unit_price_cents=500))
            session.add(Stock(warehouse_id=depot.id, product_id=product.id, on_hand=1_000_000))
            skus.append(product.sku)
        dealer_ids = []
        for index in range(dealers):
            dealer = Dealer(
                code=f"BD-{index:03d}",
                name=f"Bench dealer {index}",
                tier_id=tier.id,
                credit_limit_cents=10**12,
                latitude=-22.9 + index * 0.001,
                longitude=-47.06,
                warehouse_id=depot.id,
            )
            session.add(dealer)
            session.flush()
            dealer_ids.append(dealer.id)
        session.commit()
    return dealer_ids, skus


@dataclass(frozen=True)
class Share:
    """The dealers one worker process drives, and how."""

    mode: str
    target: str
    """Database URL in backbone mode, the API's base URL in API mode."""
    dealer_ids: list[int]
    tokens: list[str]
    skus: list[str]
    seconds: float
    seed: int
    rate: float | None
    """Orders per second this process offers in total; None for closed load."""


def backbone_submitter(engine, index: int, dealer_id: int) -> Callable[[list[LineRequest]], None]:
    """Return a function that submits one order for `dealer_id` through `submit_order`."""
    day = date.today() + timedelta(days=1)
    actor = Actor(username=f"bench-{index}", role=Role.DEALER, dealer_id=dealer_id)

    def submit(lines: list[LineRequest]) -> None:
        submit_order(
            engine,
            actor,
            dealer_id=dealer_id,
            delivery_day=day,
            lines=lines,
            idempotency_key=uuid.uuid4().hex,
        )

    return submit


def api_submitter(base_url: str, token: str) -> Callable[[list[LineRequest]], None]:
    """Return a function that POSTs one order to the API with the dealer's token."""
    day = (date.today() + timedelta(days=1)).isoformat()
    host, port = base_url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def submit(lines: list[LineRequest]) -> None:
        body = json.dumps(
            {
                "delivery_day": day,
                "lines": [{"sku": line.sku, "quantity": line.quantity} for line in lines],
            }
        )
        connection.request(
            "POST",
            "/api/v1/orders",
            body=body,
            headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
        )
        response = connection.getresponse()
        payload = response.read()
        if response.status != 201:
            raise RuntimeError(f"POST /api/v1/orders returned {response.status}: {payload[:200]!r}")

    return submit


def run_share(share: Share, start, results) -> None:
    """Drive `share.dealer_ids` from one thread each; put (latencies, errors) on `results`.

    Runs in a worker process. Each thread places two warm-up orders (not counted), then all
    wait on `start`, a barrier shared with the other processes, and submit for
    `share.seconds`.
    """
    logging.basicConfig(level=logging.WARNING)
    engine = make_engine(share.target) if share.mode == "backbone" else None
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    ready = threading.Barrier(len(share.dealer_ids) + 1)
    go = threading.Barrier(len(share.dealer_ids) + 1)
    deadline_box: list[float] = []
    per_thread_rate = share.rate / len(share.dealer_ids) if share.rate else None

    def worker(index: int, dealer_id: int) -> None:
        nonlocal errors
        rng = random.Random(share.seed * 1000 + dealer_id)
        if engine is not None:
            submit = backbone_submitter(engine, index, dealer_id)
        else:
            submit = api_submitter(share.target, share.tokens[index])

        def order_lines() -> list[LineRequest]:
            return [LineRequest(sku, rng.randint(1, 5)) for sku in rng.sample(share.skus, 5)]

        for _ in range(2):
            try:
                submit(order_lines())
            except Exception:
                logger.warning("Bench warm-up order of dealer %d failed", dealer_id, exc_info=True)
        ready.wait()
        go.wait()

        due = time.perf_counter()
        if per_thread_rate:
            due += rng.expovariate(per_thread_rate)
        while True:
            if per_thread_rate:
                if due >= deadline_box[0]:
                    break
                time.sleep(max(0.0, due - time.perf_counter()))
                started = due
                due += rng.expovariate(per_thread_rate)
            else:
                started = time.perf_counter()
                if started >= deadline_box[0]:
                    break
            try:
                submit(order_lines())
            except Exception:
                with lock:
                    errors += 1
                    first_error = errors == 1
                if first_error:
                    logger.warning(
                        "Bench %s submit of dealer %d failed; further failures are only counted",
                        share.mode,
                        dealer_id,
                        exc_info=True,
                    )
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    threads = [
        threading.Thread(target=worker, args=(index, dealer_id))
        for index, dealer_id in enumerate(share.dealer_ids)
    ]
    for thread in threads:
        thread.start()
    ready.wait()
    start.wait()
    deadline_box.append(time.perf_counter() + share.seconds)
    go.wait()
    for thread in threads:
        thread.join()
    if engine is not None:
        engine.dispose()
    results.put((latencies, errors))


def run_load(
    mode: str,
    target: str,
    dealer_ids: list[int],
    tokens: list[str],
    skus: list[str],
    *,
    seconds: float,
    seed: int,
    processes: int,
    rate: float | None,
) -> BenchResult:
    """Spread the dealers over `processes` worker processes, run them together, and measure.

    Orders per second are the accepted orders over the wall-clock time from the common start
    until the last process finished.
    """
    processes = max(1, min(processes, len(dealer_ids)))
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(processes + 1)
    results = context.Queue()
    shares = []
    for number in range(processes):
        picked = list(range(number, len(dealer_ids), processes))
        shares.append(
            Share(
                mode=mode,
                target=target,
                dealer_ids=[dealer_ids[i] for i in picked],
                tokens=[tokens[i] for i in picked] if tokens else [],
                skus=skus,
                seconds=seconds,
                seed=seed,
                rate=rate * len(picked) / len(dealer_ids) if rate else None,
            )
        )
    workers = [context.Process(target=run_share, args=(share, start, results)) for share in shares]
    for worker in workers:
        worker.start()
    try:
        start.wait(timeout=300)
    except threading.BrokenBarrierError as error:
        raise click.ClickException(
            "A bench worker process did not get ready within 300 s; run with --processes 1 "
            "to see its error in this terminal."
        ) from error
    began = time.perf_counter()
    collected = [results.get(timeout=seconds + 600) for _ in workers]
    elapsed = time.perf_counter() - began
    for worker in workers:
        worker.join()

    latencies = [value for share_latencies, _ in collected for value in share_latencies]
    return BenchResult(
        mode=mode,
        orders=len(latencies),
        errors=sum(errors for _, errors in collected),
        seconds=elapsed,
        p50_ms=statistics.median(latencies) * 1000 if latencies else 0.0,
        p95_ms=percentile(latencies, 0.95) * 1000,
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create_dealer_tokens(engine, dealer_ids: list[int]) -> list[str]:
    """Create one dealer-scoped API token per dealer and return the tokens."""
    admin = Actor(username="bench-admin", role=Role.ADMIN)
    tokens = []
    with Session(engine) as session:
        for dealer_id in dealer_ids:
            _, token = create_api_token(
                session, admin, f"bench dealer {dealer_id}", Role.DEALER, dealer_id=dealer_id
            )
            tokens.append(token)
        session.commit()
    return tokens


def start_api_server(url: str, workers: int) -> tuple[subprocess.Popen, str]:
    """Start uvicorn serving the API against `url` and wait until /api/v1/health responds."""
    port = free_port()
    env = {**os.environ, "DISTRO_DATABASE_URL": url}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "distro.api.app:create_api",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env=env,
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise click.ClickException(f"uvicorn exited with {process.returncode} before serving")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/api/v1/health")
            if connection.getresponse().status == 200:
                return process, base_url
        except OSError:
            pass
        time.sleep(0.3)
    process.terminate()
    raise click.ClickException(
        "uvicorn did not respond to /api/v1/health within 60 s; run it by hand to see why"
    )


@click.command("orders")
@click.option(
    "--admin-url",
    default=DEFAULT_ADMIN_URL,
    show_default=True,
    help="PostgreSQL URL where a throwaway benchmark database may be created.",
)
@click.option(
    "--dealers", default=32, show_default=True, help="Concurrent dealers (one thread each)."
)
@click.option("--products", default=200, show_default=True, help="Products in the catalog.")
@click.option(
    "--seconds", default=20.0, show_default=True, help="Duration of each measured run in seconds."
)
@click.option(
    "--runs", default=3, show_default=True, help="Measured runs; the median run is reported."
)
@click.option("--seed", default=1, show_default=True, help="Seed of the random order contents.")
@click.option(
    "--mode",
    type=click.Choice(["backbone", "api", "both"]),
    default="backbone",
    show_default=True,
    help="Submit through submit_order in the worker processes, through the HTTP API, or both.",
)
@click.option(
    "--api-workers", default=2, show_default=True, help="uvicorn worker processes in API mode."
)
@click.option(
    "--processes",
    default=2,
    show_default=True,
    help="Worker processes the dealer threads are spread over (1 puts them all in one).",
)
@click.option(
    "--rate",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Open load: total orders per second offered, at random moments. Default: closed "
    "load, each dealer submits again as soon as its order is confirmed.",
)
def orders(
    admin_url: str,
    dealers: int,
    products: int,
    seconds: float,
    runs: int,
    seed: int,
    mode: str,
    api_workers: int,
    processes: int,
    rate: float | None,
) -> None:
    """Measure orders per second and p50/p95 submit latency on PostgreSQL."""
    name = f"distro_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    results: list[BenchResult] = []
    server = None
    load = {"seconds": seconds, "processes": processes, "rate": rate}
    try:
        upgrade_database(url)
        engine = make_engine(url)
        dealer_ids, skus = seed_bench_network(engine, dealers, products)
        tokens = create_dealer_tokens(engine, dealer_ids) if mode in ("api", "both") else []
        engine.dispose()
        if mode in ("backbone", "both"):
            results += [
                run_load("backbone", url, dealer_ids, [], skus, seed=seed + r, **load)
                for r in range(runs)
            ]
        if mode in ("api", "both"):
            server, base_url = start_api_server(url, api_workers)
            results += [
                run_load("api", base_url, dealer_ids, tokens, skus, seed=seed + r, **load)
                for r in range(runs)
            ]
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    offered = f"open load of {rate:g} orders/s" if rate else "closed load"
    click.echo(
        f"{dealers} concurrent dealers in {processes} processes, 5-line orders, {offered}, "
        f"{runs} runs of {seconds:.0f} s per mode"
    )
    click.echo(
        f"{'mode':<10} {'run':>3} {'orders':>7} {'errors':>6} {'orders/s':>9} "
        f"{'p50 ms':>7} {'p95 ms':>7}"
    )
    for index, result in enumerate(results, start=1):
        click.echo(
            f"{result.mode:<10} {index:>3} {result.orders:>7} {result.errors:>6} "
            f"{result.orders_per_second:>9.1f} {result.p50_ms:>7.1f} {result.p95_ms:>7.1f}"
        )
    for measured in ("backbone", "api"):
        of_mode = sorted(
            (r for r in results if r.mode == measured), key=lambda r: r.orders_per_second
        )
        if not of_mode:
            continue
        median = of_mode[len(of_mode) // 2]
        click.echo(
            f"{measured} median run: {median.orders_per_second:.1f} orders/s, "
            f"p50 {median.p50_ms:.1f} ms, p95 {median.p95_ms:.1f} ms"
        )
