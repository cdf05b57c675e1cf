"""``aml-family``: read a model family's record and decision log from the command line."""

from __future__ import annotations

import argparse
import os
import sys

from aml_provider.family.log import format_history, history_rows
from aml_provider.family.model_family import ModelFamily

DEFAULT_REPORTS_URI = os.environ.get("AML_REPORTS_URI", "s3://aml-demo/families/")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="aml-family", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("history", "one row per run: data, metrics, decision, model serving after"),
        ("show", "the family record (champion, previous, members, pending change) as JSON"),
    ):
        command = commands.add_parser(name, help=text, description=text)
        command.add_argument("family")
        command.add_argument(
            "--reports-uri", default=DEFAULT_REPORTS_URI, help="default: %(default)s ($AML_REPORTS_URI)"
        )
        command.add_argument(
            "--aws-conn-id", default="aws_default", help="Airflow connection (default: %(default)s)"
        )
    args = parser.parse_args(argv)
    family = open_family(args.family, args.reports_uri, args.aws_conn_id)
    if args.command == "history":
        print(format_history(history_rows(list(family.log.events()))))
    else:
        print(family.record().to_json())
    return 0


def open_family(name: str, reports_uri: str, aws_conn_id: str) -> ModelFamily:
    """The family through an Airflow ``aws`` connection (AWS or the local service)."""
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    from aml_provider.hooks.aml import AmlHook

    return ModelFamily(
        AmlHook(aws_conn_id=aws_conn_id), S3Hook(aws_conn_id=aws_conn_id).get_conn(), reports_uri, name
    )


if __name__ == "__main__":
    sys.exit(main())
