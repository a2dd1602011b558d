"""`sagelite s3 cp SRC DST` (one file, either direction) and `sagelite s3 ls s3://bucket/prefix`."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from app.cli import common, output
from app.cli.common import CommandError, Context


def add_parser(commands: Any) -> None:
    s3 = commands.add_parser("s3", help="objects: copy files in and out, list")
    sub = s3.add_subparsers(dest="s3_command", required=True, metavar="COMMAND")
    cp = common.leaf(sub, "cp", copy, help="upload a file to s3://... or download one from it")
    cp.add_argument("source", metavar="SRC")
    cp.add_argument("destination", metavar="DST")
    ls = common.leaf(sub, "ls", list_objects, help="list the objects under s3://bucket/prefix")
    ls.add_argument("uri", metavar="s3://BUCKET[/PREFIX]")
    ls.add_argument("--recursive", action="store_true", help="every key, not one level")


def copy(args: argparse.Namespace, ctx: Context) -> int:
    source, destination = args.source, args.destination
    if source.startswith("s3://") and not destination.startswith("s3://"):
        path = ctx.client.download_file(source, destination)
        result: dict[str, Any] = {"Source": source, "Destination": str(path)}
        verb = "download"
    elif destination.startswith("s3://") and not source.startswith("s3://"):
        if not Path(source).is_file():
            raise CommandError(f"{source} is not a file")
        uploaded = ctx.client.upload_file(source, destination)
        result = {"Source": source, "Destination": f"s3://{uploaded['bucket']}/{uploaded['key']}", **uploaded}
        verb = "upload"
    else:
        raise CommandError("one of SRC and DST must be s3://bucket/key, the other a local path")
    if ctx.json:
        output.emit_json(result)
    else:
        print(f"{verb}: {result['Source']} to {result['Destination']}")
    return common.OK


def list_objects(args: argparse.Namespace, ctx: Context) -> int:
    if not args.uri.startswith("s3://") or not args.uri[5:].split("/", 1)[0]:
        raise CommandError(f"expected s3://bucket[/prefix], not {args.uri}")
    bucket, _, prefix = args.uri[5:].partition("/")
    params: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    if not args.recursive:
        params["Delimiter"] = "/"
    contents, prefixes = [], []
    while True:
        page = ctx.client.list_objects_v2(**params)
        contents += page.get("Contents", [])
        prefixes += page.get("CommonPrefixes", [])
        if not page.get("IsTruncated") or not page.get("NextContinuationToken"):
            break
        params["ContinuationToken"] = page["NextContinuationToken"]
    if ctx.json:
        output.emit_json({"Contents": contents, "CommonPrefixes": prefixes})
        return common.OK
    base = "" if args.recursive else prefix[: prefix.rfind("/") + 1]  # names shown relative to it
    for entry in prefixes:
        print(f"{'PRE':>30} {entry['Prefix'][len(base) :]}")
    for obj in contents:
        print(f"{output.timestamp(obj['LastModified'])} {obj['Size']:>10} {obj['Key'][len(base) :]}")
    return common.OK
