"""`threadline`: run the local stack, replay a demo, send signed sample webhooks, inject stream records.

Heavy imports (moto, the handlers) happen inside the commands, so `--help` is instant.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from infra import topology
from shared.config import ENVIRONMENT_HELP

DEFAULT_URL = "http://127.0.0.1:8080"
# The names users type for the sources that have no local producer (infra/topology.py, SOURCE_KINDS).
INJECT_SOURCES = {
    kind.inject_name: source.value for source, kind in topology.SOURCE_KINDS.items() if kind.inject_name is not None
}
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _environment_epilog() -> str:
    secrets = topology.secrets()
    described = {**{name: secret.help for name, secret in secrets.items()}, **ENVIRONMENT_HELP}
    local_defaults = {
        **{name: secret.local_default for name, secret in secrets.items()},
        "THREADLINE_PUBLIC_URL": "http://127.0.0.1:<port>",
    }
    width = max(len(name) for name in described)
    lines = ["environment variables:"]
    for name, meaning in described.items():
        default = f" [local default: {local_defaults[name]}]" if name in local_defaults else ""
        lines.append(f"  {name:<{width}}  {meaning}{default}")
    lines += [
        "",
        "The development defaults are public: never use them on a deployed stack.",
        "Locally the AWS variables are set for you (fake credentials, moto's endpoint); see docs/local.md.",
    ]
    return "\n".join(lines)


def _configure_logging(level: str) -> None:
    """The stack's own one-line log (requests, batches) on stderr; Powertools logs JSON on stdout."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
    log = logging.getLogger("threadline.local")
    log.handlers[:] = [handler]
    log.setLevel(logging.DEBUG if level == "DEBUG" else logging.INFO)
    log.propagate = False


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(args: argparse.Namespace) -> int:
    from infra.local.runtime import LocalRuntime

    _configure_logging(args.log_level)
    try:
        runtime = LocalRuntime(host=args.host, port=args.port, log_level=args.log_level)
    except OSError as error:
        print(f"threadline serve: cannot listen on {args.host}:{args.port}: {error.strerror}", file=sys.stderr)
        return 1
    signal.signal(signal.SIGTERM, _interrupt)  # a supervisor's stop is a clean shutdown, like Ctrl-C
    stopped = threading.Event()
    try:
        runtime.start()
        print("\n".join(runtime.banner()), flush=True)
        print("\nReady. Ctrl-C stops the stack.", flush=True)
        if args.demo:
            from infra.local import demo

            try:
                demo.run(runtime.url)
            except (OSError, RuntimeError, TimeoutError) as error:
                print(f"demo failed: {error}; the stack keeps serving", flush=True)
            sys.stdout.flush()
        while not stopped.wait(0.5):
            pass
    except KeyboardInterrupt:
        print("\nStopping ...", flush=True)
    finally:
        runtime.stop()
    return 0


def demo_command(args: argparse.Namespace) -> int:
    from infra.local import demo

    return demo.run(args.url)


def send(args: argparse.Namespace) -> int:
    from infra.local.client import StackClient
    from infra.local.samples import SampleOptions, samples

    registry = samples(args.mode)
    if args.sample not in registry:
        known = ", ".join(sorted(registry))
        print(f"threadline send: no {args.mode} sample {args.sample!r}; one of: {known}", file=sys.stderr)
        return 2
    options = SampleOptions(
        public_url=args.public_url or args.url,
        **{
            name: value
            for name in ("text", "sender", "recipient", "message_id", "kind", "in_reply_to")
            if (value := getattr(args, name))
        },
    )
    try:
        result = StackClient(args.url).send(registry[args.sample](options))
    except OSError as error:
        print(f"threadline send: {args.url} does not answer ({error})", file=sys.stderr)
        return 1
    print(f"HTTP {result.status}")
    print(result.text)
    return 0 if result.status < 400 else 1


def inject(args: argparse.Namespace) -> int:
    from infra.local.client import StackClient

    try:
        payload = json.loads(Path(args.file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        print(f"threadline inject: cannot read {args.file} as JSON: {error}", file=sys.stderr)
        return 2
    try:
        result = StackClient(args.url).inject(INJECT_SOURCES.get(args.source, args.source), payload)
    except OSError as error:
        print(f"threadline inject: {args.url} does not answer ({error})", file=sys.stderr)
        return 1
    print(f"HTTP {result.status}")
    print(result.text)
    return 0 if result.status < 400 else 1


def outbox(args: argparse.Namespace) -> int:
    """What the local providers were asked to send, oldest first: one line each."""
    from infra.local.client import StackClient

    try:
        result = StackClient(args.url).request("GET", "/_local/outbox")
    except OSError as error:
        print(f"threadline outbox: {args.url} does not answer ({error})", file=sys.stderr)
        return 1
    items = result.json()["items"] if result.status == 200 else []
    if args.json:
        print(json.dumps(items, indent=2))
        return 0
    if not items:
        print("Nothing sent yet. Reply with POST /v1/cases/{case_id}/replies (README, Reply).")
    for item in items:
        text = " ".join(str(item.get("text") or "").split())
        text = text if len(text) <= 60 else text[:59] + "…"
        when = str(item.get("at", ""))[:19].replace("T", " ")
        where = f"{item['provider']:<7} {item.get('kind', ''):<9} → {item.get('to', '')}"
        print(f"{when}  {where}  [{item.get('status', '')}]  {text}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="threadline", description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)

    serve_parser = commands.add_parser(
        "serve",
        help="run the local stack (HTTP API, embedded AWS, queue pollers) in this process",
        description="Run the local stack: every function of infra/topology.py behind one HTTP server, "
        "an embedded DynamoDB/SQS/S3 (moto) and in-process queue pollers. State is in memory.",
        epilog=_environment_epilog(),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    serve_parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    serve_parser.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    serve_parser.add_argument("--demo", action="store_true", help="replay the demo journey once the stack is up")
    serve_parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=LOG_LEVELS,
        type=str.upper,
        help="Powertools log level of the functions",
    )
    serve_parser.set_defaults(run=serve)

    demo_parser = commands.add_parser("demo", help="replay a scripted customer journey and print the timeline")
    demo_parser.add_argument("--url", default=DEFAULT_URL, help=f"the local stack (default {DEFAULT_URL})")
    demo_parser.set_defaults(run=demo_command)

    send_parser = commands.add_parser("send", help="send a correctly signed sample webhook")
    send_parser.add_argument("sample", help="provider sample, e.g. twilio-sms")
    send_parser.add_argument("--url", default=DEFAULT_URL, help=f"where to send it (default {DEFAULT_URL})")
    send_parser.add_argument("--public-url", help="the URL the signature covers, if not --url (a tunnel, a proxy)")
    send_parser.add_argument("--text", help="message text")
    send_parser.add_argument("--sender", help="provider-specific sender: a phone, an email, a user id")
    send_parser.add_argument("--recipient", help="provider-specific recipient")
    send_parser.add_argument(
        "--message-id", help="provider message id (default: a fresh one; repeat it to test dedupe)"
    )
    send_parser.add_argument("--kind", help="provider-specific variant, e.g. instagram, whatsapp, echo")
    send_parser.add_argument(
        "--in-reply-to", help="email samples: the Message-ID the message answers (a reply's thread.message_id)"
    )
    send_parser.add_argument(
        "--mode",
        choices=("webhook", "polling"),
        default="webhook",
        help="webhook: post it signed to the webhook (default); polling: put it into the provider's sandbox "
        "for the poller (x-mention, x-dm with THREADLINE_X_MODE=polling)",
    )
    send_parser.set_defaults(run=send)

    inject_parser = commands.add_parser("inject", help="feed a stream record to its function (no local producer)")
    inject_parser.add_argument("source", help=f"one of: {', '.join(INJECT_SOURCES)}")
    inject_parser.add_argument("file", help="JSON file: one record, or a list of records")
    inject_parser.add_argument("--url", default=DEFAULT_URL, help=f"the local stack (default {DEFAULT_URL})")
    inject_parser.set_defaults(run=inject)

    outbox_parser = commands.add_parser("outbox", help="show what replies sent through the local provider sandboxes")
    outbox_parser.add_argument("--url", default=DEFAULT_URL, help=f"the local stack (default {DEFAULT_URL})")
    outbox_parser.add_argument("--json", action="store_true", help="print the items as JSON")
    outbox_parser.set_defaults(run=outbox)

    # Listed for --help; main() hands their arguments to the modules that parse their own.
    commands.add_parser("events", help="print the local CRM sync events (--follow keeps printing)", add_help=False)
    commands.add_parser(
        "journeys", help="replay the labeled journey suite and print precision, recall, repeat rate", add_help=False
    )
    return parser


def _delegated(command: str) -> Callable[[Sequence[str]], int] | None:
    """Subcommands whose module parses its own arguments (imported only when used)."""
    if command == "events":
        from infra.local import events_cli

        return events_cli.main
    if command == "journeys":
        from tools.journeys import runner

        return runner.main
    return None


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    delegated = _delegated(arguments[0]) if arguments else None
    if delegated:
        return delegated(arguments[1:])
    args = build_parser().parse_args(arguments)
    return int(args.run(args))


if __name__ == "__main__":
    sys.exit(main())
