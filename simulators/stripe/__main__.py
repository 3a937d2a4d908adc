"""`python -m simulators.stripe`: run the Stripe stand-in until interrupted."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from .config import DEFAULT_API_KEY, DEFAULT_WEBHOOK_SECRET, StripeSimConfig
from .server import serve_in_thread


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.stripe",
        description="A local Stripe Billing (prices, Checkout, portal, subscriptions, "
                    "invoices, signed webhooks) for the real stripe library.",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8002, help="0 picks a free port")
    parser.add_argument("--public-url",
                        help="base URL browsers use for the hosted pages (default: http://HOST:PORT)")
    parser.add_argument("--api-key", default=DEFAULT_API_KEY, help="the one secret key accepted")
    parser.add_argument("--webhook-url", help="an endpoint registered at start, for every event")
    parser.add_argument("--webhook-secret", default=DEFAULT_WEBHOOK_SECRET)
    parser.add_argument("--time-scale", type=float, default=1.0,
                        help="multiplies the webhook retry schedule, e.g. 0.001")
    parser.add_argument("--duplicate-probability", type=float, default=0.0,
                        help="chance that an acknowledged event is delivered again")
    parser.add_argument("--state-file",
                        help="keep customers, subscriptions … in this JSON file across restarts")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = StripeSimConfig(
        api_key=args.api_key,
        webhook_url=args.webhook_url,
        webhook_secret=args.webhook_secret,
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        time_scale=args.time_scale,
        duplicate_probability=args.duplicate_probability,
        state_file=args.state_file,
    )
    server, base_url = serve_in_thread(config, args.host, args.port, quiet=not args.verbose)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(
        f"Stripe stand-in listening on {base_url} "
        f"(public URL {server.simulator.config.public_url}); "
        f"api_base={base_url}, key {config.api_key}; overview at {base_url}/_sim/",
        flush=True,
    )
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
