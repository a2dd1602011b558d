"""`sagelite hosts list` and `sagelite vms list|pause|resume`."""

from __future__ import annotations

import argparse
from typing import Any

from app.cli import common, output
from app.cli.common import Context
from app.client import rest

RESOURCES = (("vcpus", "VCPUS"), ("memory_gib", "MEMORY GIB"), ("gpus", "GPUS"), ("disk_gib", "DISK GIB"))


def add_parsers(commands: Any) -> None:
    hosts = commands.add_parser("hosts", help="the host pool: capacity, allocated, free")
    hosts_sub = hosts.add_subparsers(dest="hosts_command", required=True, metavar="COMMAND")
    common.leaf(hosts_sub, "list", list_hosts, help="hosts with free / total capacity")
    vms = commands.add_parser("vms", help="the VMs jobs run in: list, pause, resume")
    vms_sub = vms.add_subparsers(dest="vms_command", required=True, metavar="COMMAND")
    listing = common.leaf(vms_sub, "list", list_vms, help="VMs, newest first")
    listing.add_argument("--job", metavar="NAME", help="only this training job's VMs")
    for name, text in (("pause", "SIGSTOP a running VM"), ("resume", "SIGCONT a paused VM")):
        common.leaf(vms_sub, name, change_vm, help=text).add_argument("vm_id", metavar="ID")


def list_hosts(args: argparse.Namespace, ctx: Context) -> int:
    hosts = rest.every_page(ctx.client.list_hosts, "hosts")
    if ctx.json:
        output.emit_json(hosts)
        return common.OK
    rows = [
        [host["name"], *(f"{host['free'][key]:g}/{host['capacity'][key]:g}" for key, _ in RESOURCES)]
        for host in hosts["hosts"]
    ]
    output.table(["HOST", *(f"{title} (FREE/TOTAL)" for _, title in RESOURCES)], rows)
    return common.OK


def list_vms(args: argparse.Namespace, ctx: Context) -> int:
    vms = rest.every_page(ctx.client.list_vms, "vms", job=args.job)
    if ctx.json:
        output.emit_json(vms)
        return common.OK
    columns = ("id", "job", "hostname", "host", "instance_type", "state", "pid", "exit_code")
    rows = [[vm.get(column) for column in columns] for vm in vms["vms"]]
    output.table(["ID", "JOB", "HOSTNAME", "HOST", "TYPE", "STATE", "PID", "EXIT"], rows)
    return common.OK


def change_vm(args: argparse.Namespace, ctx: Context) -> int:
    change = ctx.client.pause_vm if args.vms_command == "pause" else ctx.client.resume_vm
    vm = change(args.vm_id)
    if ctx.json:
        output.emit_json(vm)
    else:
        print(f"{vm['id']}: {vm['state']}")
    return common.OK
