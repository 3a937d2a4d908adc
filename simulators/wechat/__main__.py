"""`python -m simulators.wechat`: run the simulator until interrupted."""

from __future__ import annotations

import argparse
import logging
import signal
import threading

from .accounts import SubMerchantSpec
from .config import DEFAULT_SUB_MCHIDS, SimulatorConfig
from .server import serve_in_thread


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m simulators.wechat",
        description="A local WeChat (OAuth, messages, mini-program, Pay API v3 partner mode).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument(
        "--state-dir",
        default=".data/wechat-sim",
        help="where keys and credentials.json are generated and reused",
    )
    parser.add_argument(
        "--public-url", help="base URL the platform and browsers use (default: http://HOST:PORT)"
    )
    parser.add_argument(
        "--time-scale",
        type=float,
        default=1.0,
        help="multiplies the callback retry schedule, e.g. 0.01",
    )
    parser.add_argument(
        "--duplicate-probability",
        type=float,
        default=0.1,
        help="chance that an acknowledged callback is delivered again",
    )
    parser.add_argument(
        "--processing-delay",
        type=float,
        default=1.0,
        help="seconds refunds, profit sharing and cancellations stay PROCESSING",
    )
    parser.add_argument("--callback-timeout", type=float, default=5.0)
    parser.add_argument(
        "--sub-mchid",
        action="append",
        dest="sub_mchids",
        help=f"a known sub-merchant (repeatable; default {', '.join(DEFAULT_SUB_MCHIDS)})",
    )
    parser.add_argument(
        "--max-ratio",
        type=int,
        default=3000,
        help="profit-sharing cap of the sub-merchants, in basis points",
    )
    parser.add_argument("--verbose", action="store_true", help="log every request")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    config = SimulatorConfig.load_or_create(
        args.state_dir,
        sub_merchants=[
            SubMerchantSpec(sub_mchid, args.max_ratio)
            for sub_mchid in (args.sub_mchids or DEFAULT_SUB_MCHIDS)
        ],
        public_url=args.public_url.rstrip("/") if args.public_url else None,
        time_scale=args.time_scale,
        duplicate_probability=args.duplicate_probability,
        processing_delay=args.processing_delay,
        callback_timeout=args.callback_timeout,
    )
    server, base_url = serve_in_thread(config, args.host, args.port, quiet=not args.verbose)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(
        f"WeChat simulator listening on {base_url} "
        f"(public URL {server.simulator.config.public_url}); "
        f"credentials in {config.state_dir}/credentials.json; overview at {base_url}/_sim/",
        flush=True,
    )
    stop.wait()
    server.shutdown()


if __name__ == "__main__":
    main()
