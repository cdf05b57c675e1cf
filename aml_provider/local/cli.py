"""`aml-local`: command line of the local Amazon ML service (`aml-local serve ...`)."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from aml_provider.local.config import ServiceConfig
from aml_provider.local.faults import FaultPlan, FaultPlanError
from aml_provider.local.logs import FORMATS, configure_logging
from aml_provider.local.server import CREDENTIALS_FILE, bind_socket, build_app, with_access_keys
from aml_provider.pages.families import parse_uris

Command = Callable[[argparse.Namespace], int]


def main(argv: Sequence[str] | None = None) -> int:
    """Run the sub-command named on the command line; answers the exit status."""
    args = build_parser().parse_args(argv)
    command: Command = args.command
    return command(args)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="aml-local", description="Local Amazon Machine Learning service.")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")
    add_serve_command(commands)
    add_faults_command(commands)
    return parser


def add_serve_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    env = os.environ.get
    serve = commands.add_parser(
        "serve", help="serve the Amazon ML API over HTTP", description=serve_command.__doc__
    )
    serve.add_argument("--host", default=env("AML_LOCAL_HOST", "127.0.0.1"), help="address to listen on")
    serve.add_argument(
        "--port", type=int, default=int(env("AML_LOCAL_PORT", "8086")), help="port to listen on"
    )
    serve.add_argument(
        "--data-dir", type=Path, default=Path(env("AML_LOCAL_DATA_DIR", ".aml-local")), help="state directory"
    )
    serve.add_argument(
        "--s3-endpoint", default=env("AWS_ENDPOINT_URL_S3"), help="S3 endpoint URL for data (default: AWS S3)"
    )
    serve.add_argument(
        "--local-s3",
        type=int,
        metavar="PORT",
        help="also serve a local S3 (moto, in memory) on this port and keep data there",
    )
    serve.add_argument(
        "--access-key-id", default=env("AML_LOCAL_ACCESS_KEY_ID"), help="access key id to accept"
    )
    serve.add_argument("--secret-access-key", default=env("AML_LOCAL_SECRET_ACCESS_KEY"), help="its secret")
    serve.add_argument(
        "--max-jobs", type=int, default=int(env("AML_LOCAL_MAX_JOBS", "2")), help="jobs that run at once"
    )
    serve.add_argument(
        "--public-url", default=env("AML_LOCAL_PUBLIC_URL"), help="URL clients reach the service at"
    )
    serve.add_argument(
        "--redshift-server",
        action="append",
        default=[],
        metavar="CLUSTER=URL",
        help="PostgreSQL server behind a Redshift cluster identifier ('*' for any; repeatable); "
        "default AML_LOCAL_REDSHIFT_URL or postgresql://127.0.0.1:5432",
    )
    serve.add_argument(
        "--rds-server",
        action="append",
        default=[],
        metavar="INSTANCE=URL",
        help="MySQL/MariaDB server behind an RDS instance identifier ('*' for any; repeatable); "
        "default AML_LOCAL_RDS_URL or mysql://127.0.0.1:3306",
    )
    serve.add_argument(
        "--predict-rps",
        type=int,
        default=int(env("AML_LOCAL_PREDICT_RPS", "200")),
        help="real-time Predict requests per second per endpoint",
    )
    serve.add_argument(
        "--max-body-bytes",
        type=int,
        default=None,
        help="largest request body accepted (default AML_LOCAL_MAX_BODY_BYTES or 32 MiB)",
    )
    serve.add_argument(
        "--console-auth",
        choices=["on", "off", "auto"],
        default=None,
        help="console and log pages need the key pair (basic auth) or the console token; "
        "auto (default): only when not listening on loopback",
    )
    serve.add_argument(
        "--console-token",
        default=None,
        help="bearer token for the console and log pages (or AML_LOCAL_CONSOLE_TOKEN)",
    )
    serve.add_argument(
        "--shutdown-timeout",
        type=float,
        default=float(env("AML_LOCAL_SHUTDOWN_TIMEOUT", "10")),
        metavar="SECONDS",
        help="on SIGTERM/SIGINT, how long running jobs may finish; the rest run again at the next start",
    )
    serve.add_argument(
        "--log-format",
        choices=FORMATS,
        default=env("AML_LOCAL_LOG_FORMAT", "text"),
        help="log lines as text or as one JSON object each (with the request ID)",
    )
    serve.add_argument(
        "--faults",
        default=env("AML_LOCAL_FAULTS"),
        metavar="JSON|@FILE",
        help="fault plan to inject (for tests; off by default), as JSON or @file",
    )
    serve.add_argument(
        "--families-uri",
        action="append",
        default=[],
        metavar="S3_URI",
        help="reports_uri of model families for the console's family pages (repeatable); "
        "default AML_LOCAL_FAMILIES_URI (comma-separated)",
    )
    serve.set_defaults(command=serve_command)


def add_faults_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    env = os.environ.get
    faults = commands.add_parser(
        "faults",
        help="show or change the fault plan of a running service",
        description=faults_command.__doc__,
    )
    faults.add_argument("plan", nargs="?", metavar="JSON|@FILE|off", help="the plan to put in force")
    faults.add_argument(
        "--url", default=env("AML_LOCAL_PUBLIC_URL", "http://127.0.0.1:8086"), help="the service's URL"
    )
    faults.add_argument(
        "--data-dir",
        type=Path,
        default=Path(env("AML_LOCAL_DATA_DIR", ".aml-local")),
        help="where the service's credentials.json is (unless a key pair is given)",
    )
    faults.add_argument("--access-key-id", default=env("AML_LOCAL_ACCESS_KEY_ID"), help="key to sign with")
    faults.add_argument("--secret-access-key", default=env("AML_LOCAL_SECRET_ACCESS_KEY"), help="its secret")
    faults.set_defaults(command=faults_command)


def faults_command(args: argparse.Namespace) -> int:
    """Print the fault plan in force at --url, or put PLAN in force first ("off" for none), signing the
    admin call with the service's key pair."""
    from aml_provider.local import AdminCallError, admin_call

    key, secret = args.access_key_id, args.secret_access_key
    if not key:
        try:
            pair = json.loads((args.data_dir / CREDENTIALS_FILE).read_text())
        except OSError as err:
            print(
                f"aml-local: no key pair: give --access-key-id and --secret-access-key ({err})",
                file=sys.stderr,
            )
            return 2
        key, secret = pair["access_key_id"], pair["secret_access_key"]
    try:
        if args.plan is None:
            plan = admin_call(args.url, key, secret, "GetFaultPlan")
        else:
            document = {} if args.plan == "off" else fault_plan(args.plan).to_json()
            plan = admin_call(args.url, key, secret, "PutFaultPlan", document)
    except (AdminCallError, OSError) as err:
        print(f"aml-local: {args.url} refused or did not answer: {err}", file=sys.stderr)
        return 1
    print(json.dumps(plan, indent=2))
    return 0


def fault_plan(value: str | None) -> FaultPlan:
    """The plan of `--faults` / AML_LOCAL_FAULTS: JSON text, or `@path` of a JSON file."""
    if not value:
        return FaultPlan()
    try:
        text = Path(value[1:]).read_text() if value.startswith("@") else value
        return FaultPlan.parse(json.loads(text))
    except (OSError, ValueError) as err:  # FaultPlanError and JSONDecodeError are ValueErrors
        kind = "fault plan" if isinstance(err, FaultPlanError) else "--faults / AML_LOCAL_FAULTS"
        raise SystemExit(f"aml-local: bad {kind}: {err}") from None


def server_map(pairs: list[str], default: dict[str, str]) -> dict[str, str]:
    """`ID=URL` flags over the default map (whose key '*' matches any identifier)."""
    servers = dict(default)
    for pair in pairs:
        identifier, separator, url = pair.partition("=")
        if not separator or not identifier or not url:
            raise SystemExit(f"aml-local: expected ID=URL, not {pair!r}")
        servers[identifier] = url
    return servers


def page_and_body_settings(args: argparse.Namespace) -> dict[str, Any]:
    """The body limit and page authentication flags that were given (the others keep their defaults)."""
    settings: dict[str, Any] = {}
    if args.max_body_bytes is not None:
        settings["max_body_bytes"] = args.max_body_bytes
    if args.console_auth is not None:
        settings["console_auth"] = {"on": True, "off": False, "auto": None}[args.console_auth]
    if args.console_token is not None:
        settings["console_token"] = args.console_token
    return settings


def families_uris(flags: list[str]) -> tuple[str, ...]:
    """The --families-uri flags, else AML_LOCAL_FAMILIES_URI, as the console's families URIs."""
    setting, text = ("--families-uri", ",".join(flags)) if flags else ("AML_LOCAL_FAMILIES_URI", "")
    text = text or os.environ.get("AML_LOCAL_FAMILIES_URI", "")
    try:
        return tuple(parse_uris(text, setting))
    except ValueError as error:
        raise SystemExit(f"aml-local: {error}") from None


def service_config(args: argparse.Namespace, keys: dict[str, str], faults: FaultPlan) -> ServiceConfig:
    """The service's settings from the flags and the environment; a setting that cannot be used ends
    the command with a message naming it."""
    try:
        return ServiceConfig(
            data_dir=args.data_dir.resolve(),
            host=args.host,
            port=args.port,
            public_url=args.public_url,
            s3_endpoint_url=args.s3_endpoint,
            access_keys=keys,
            max_concurrent_jobs=args.max_jobs,
            predict_requests_per_second=args.predict_rps,
            redshift_servers=server_map(args.redshift_server, ServiceConfig.default_redshift_servers()),
            rds_servers=server_map(args.rds_server, ServiceConfig.default_rds_servers()),
            **page_and_body_settings(args),
            faults=faults,
            shutdown_timeout=args.shutdown_timeout,
            families_uris=families_uris(args.families_uri),
        )
    except ValueError as error:
        raise SystemExit(f"aml-local: {error}") from None


#: Seconds a thread may hold the GIL while another waits (Python: 0.005): the event loop gets it back sooner.
SWITCH_INTERVAL = 0.001


def serve_command(args: argparse.Namespace) -> int:
    """Serve the Amazon ML API until SIGINT or SIGTERM; then stop accepting, let running requests and jobs
    finish for up to --shutdown-timeout seconds, and leave the other jobs PENDING for the next start."""
    if bool(args.access_key_id) != bool(args.secret_access_key):
        print("aml-local: give both --access-key-id and --secret-access-key, or neither.", file=sys.stderr)
        return 2
    keys = {args.access_key_id: args.secret_access_key} if args.access_key_id else {}
    faults = fault_plan(args.faults)
    configure_logging(args.log_format)
    sys.setswitchinterval(SWITCH_INTERVAL)
    if args.local_s3 is not None:
        args.s3_endpoint = start_local_s3(args.host, args.local_s3)
    args.data_dir.mkdir(parents=True, exist_ok=True)
    config, credentials_file = with_access_keys(service_config(args, keys, faults))
    sock = bind_socket(args.host, args.port)
    _print_banner(config, credentials_file)
    server = uvicorn.Server(
        uvicorn.Config(
            build_app(config),
            lifespan="on",
            log_config=None,  # configure_logging's handler and format
            access_log=False,  # RequestLog logs every request, with its ID
            timeout_graceful_shutdown=max(1, round(args.shutdown_timeout)),
        )
    )
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, _exit_after_shutdown)
    try:
        server.run(sockets=[sock])
    except SystemExit as stop:
        return int(stop.code or 0)
    finally:
        sock.close()
    return 0 if server.started else 1


def start_local_s3(host: str, port: int) -> str:
    """Start moto's S3 server in this process; answer its URL."""
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")  # moto accepts any key; the service needs one
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    ThreadedMotoServer(ip_address=host, port=port, verbose=False).start()
    return f"http://{host}:{port}"


def _exit_after_shutdown(signum: int, frame: FrameType | None) -> None:
    """uvicorn re-raises the signal it shut down for; by then shutdown is complete, so exit cleanly."""
    raise SystemExit(0)


def _print_banner(config: ServiceConfig, credentials_file: Path | None) -> None:
    url = config.base_url
    access_key_id, secret = next(iter(config.access_keys.items()))
    lines = [
        f"Amazon ML (local) at {url} — console {url}/console — data in {config.data_dir}",
        f"S3 data at {config.s3_endpoint_url or 'AWS S3'}",
    ]
    if credentials_file is None:
        lines.append(
            f"Accepting access key {access_key_id} (from --access-key-id / AML_LOCAL_ACCESS_KEY_ID)."
        )
    else:
        lines += [
            f"Access key pair in {credentials_file}. To use it from a shell:",
            f"  export AWS_ENDPOINT_URL_MACHINE_LEARNING={url}",
            *([f"  export AWS_ENDPOINT_URL_S3={config.s3_endpoint_url}"] if config.s3_endpoint_url else []),
            f"  export AWS_ACCESS_KEY_ID={access_key_id}",
            f"  export AWS_SECRET_ACCESS_KEY={secret}",
            f"  export AWS_DEFAULT_REGION={config.region_name}",
        ]
    print("\n".join(lines), flush=True)


if __name__ == "__main__":
    sys.exit(main())
