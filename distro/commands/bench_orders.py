"""`distro bench orders`: order submit throughput and latency on PostgreSQL.

Creates a throwaway database, fills it with dealers and products with ample stock and
credit, then lets each of N threads (one per dealer) submit 5-line orders for a fixed time.
Reports orders per second and p50/p95 submit latency.

Two modes: `backbone` calls `submit_order` in this process. `api` starts the FastAPI app
with uvicorn on a free loopback port against the same database, and POSTs to
/api/v1/orders with an API token scoped to each dealer. In API mode the client threads
share the machine's cores with the server, as they would on a one-box install.
"""

from __future__ import annotations

import http.client
import json
import logging
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


def run_backbone(
    engine, dealer_ids: list[int], skus: list[str], seconds: float, seed: int
) -> BenchResult:
    """Submit orders through `submit_order` from one thread per dealer for `seconds`."""
    day = date.today() + timedelta(days=1)

    def make_submit(index: int, dealer_id: int) -> Callable[[list[LineRequest]], None]:
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

    return run_threads("backbone", dealer_ids, skus, seconds, seed, make_submit)


def run_api(
    base_url: str,
    tokens: list[str],
    dealer_ids: list[int],
    skus: list[str],
    seconds: float,
    seed: int,
) -> BenchResult:
    """POST orders to the API from one thread per dealer, each with its dealer's token."""
    day = (date.today() + timedelta(days=1)).isoformat()
    host, port = base_url.removeprefix("http://").split(":")

    def make_submit(index: int, dealer_id: int) -> Callable[[list[LineRequest]], None]:
        connection = http.client.HTTPConnection(host, int(port), timeout=30)
        headers = {"Authorization": f"Bearer {tokens[index]}", "Content-Type": "application/json"}

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
                raise RuntimeError(
                    f"POST /api/v1/orders returned {response.status}: {payload[:200]!r}"
                )

        return submit

    return run_threads("api", dealer_ids, skus, seconds, seed, make_submit)


def run_threads(
    mode: str,
    dealer_ids: list[int],
    skus: list[str],
    seconds: float,
    seed: int,
    make_submit: Callable[[int, int], Callable[[list[LineRequest]], None]],
) -> BenchResult:
    """Run one thread per dealer that submits random 5-line orders until `seconds` pass."""
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    barrier = threading.Barrier(len(dealer_ids) + 1)
    deadline_box: list[float] = []

    def worker(index: int, dealer_id: int) -> None:
        nonlocal errors
        rng = random.Random(seed * 1000 + index)
        submit = make_submit(index, dealer_id)
        barrier.wait()
        while time.perf_counter() < deadline_box[0]:
            lines = [LineRequest(sku, rng.randint(1, 5)) for sku in rng.sample(skus, 5)]
            started = time.perf_counter()
            try:
                submit(lines)
            except Exception:
                with lock:
                    errors += 1
                    first_error = errors == 1
                if first_error:
                    logger.warning(
                        "Bench %s submit of dealer %d failed; further failures are only counted",
                        mode,
                        dealer_id,
                        exc_info=True,
                    )
                continue
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)

    threads = [threading.Thread(target=worker, args=(i, d)) for i, d in enumerate(dealer_ids)]
    for thread in threads:
        thread.start()
    deadline_box.append(time.perf_counter() + seconds)
    started = time.perf_counter()
    barrier.wait()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started

    return BenchResult(
        mode=mode,
        orders=len(latencies),
        errors=errors,
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
    help="Submit through submit_order in this process, through the HTTP API, or both.",
)
@click.option(
    "--api-workers", default=2, show_default=True, help="uvicorn worker processes in API mode."
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
) -> None:
    """Measure orders per second and p50/p95 submit latency on PostgreSQL."""
    name = f"distro_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    results: list[BenchResult] = []
    server = None
    try:
        upgrade_database(url)
        engine = make_engine(url)
        dealer_ids, skus = seed_bench_network(engine, dealers, products)
        if mode in ("backbone", "both"):
            run_backbone(engine, dealer_ids, skus, min(seconds, 3.0), seed)  # warm-up, not reported
            results += [
                run_backbone(engine, dealer_ids, skus, seconds, seed + r) for r in range(runs)
            ]
        if mode in ("api", "both"):
            tokens = create_dealer_tokens(engine, dealer_ids)
            server, base_url = start_api_server(url, api_workers)
            run_api(base_url, tokens, dealer_ids, skus, min(seconds, 3.0), seed)  # warm-up
            results += [
                run_api(base_url, tokens, dealer_ids, skus, seconds, seed + r) for r in range(runs)
            ]
        engine.dispose()
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    click.echo(
        f"{dealers} concurrent dealers, 5-line orders, {runs} runs of {seconds:.0f} s per mode"
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
