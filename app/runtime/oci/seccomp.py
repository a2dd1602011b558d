"""The seccomp profile every VM runs under (runc applies none unless given one).

It refuses what container engines refuse an unprivileged container by default: the system calls that
reconfigure the kernel or the machine (modules, kexec, reboot, swap, clocks, accounting, quotas), that
reach beyond the container (mounts, new namespaces, pivot_root, setns, other processes' memory, open by
file handle, the kernel keyring, BPF, perf events, userfaultfd, I/O ports) and obsolete ones with a
history of bugs. Unlike Docker's allow-list, it is written as a deny-list of those calls, so a new
harmless system call of a newer kernel keeps working; the VM also has no capabilities, which already
refuses most of them, so this profile is the second wall. Refused calls fail with EPERM, as in Docker.
"""

from __future__ import annotations

from typing import Any

_EPERM = 1

DENIED = (
    # the kernel and the machine
    "acct",
    "add_key",
    "bpf",
    "clock_adjtime",
    "clock_settime",
    "create_module",
    "delete_module",
    "finit_module",
    "get_kernel_syms",
    "init_module",
    "ioperm",
    "iopl",
    "kexec_file_load",
    "kexec_load",
    "keyctl",
    "lookup_dcookie",
    "nfsservctl",
    "perf_event_open",
    "query_module",
    "quotactl",
    "quotactl_fd",
    "reboot",
    "request_key",
    "settimeofday",
    "stime",
    "swapoff",
    "swapon",
    "syslog",
    "_sysctl",
    "sysfs",
    "uselib",
    "userfaultfd",
    "ustat",
    "vm86",
    "vm86old",
    # leaving the container: mounts, namespaces, other processes
    "fsconfig",
    "fsmount",
    "fsopen",
    "fspick",
    "kcmp",
    "mount",
    "mount_setattr",
    "move_mount",
    "name_to_handle_at",
    "open_by_handle_at",
    "open_tree",
    "pivot_root",
    "process_vm_readv",
    "process_vm_writev",
    "ptrace",
    "setns",
    "umount",
    "umount2",
    "unshare",
)

# clone() with a flag that makes a namespace (user namespaces need no capability).
_CLONE_NAMESPACE_FLAGS = (
    0x00020000,  # CLONE_NEWNS
    0x02000000,  # CLONE_NEWCGROUP
    0x04000000,  # CLONE_NEWUTS
    0x08000000,  # CLONE_NEWIPC
    0x10000000,  # CLONE_NEWUSER
    0x20000000,  # CLONE_NEWPID
    0x40000000,  # CLONE_NEWNET
)
_ENOSYS = 38


def profile() -> dict[str, Any]:
    """The `linux.seccomp` section of a VM's OCI config."""
    rules: list[dict[str, Any]] = [{"names": list(DENIED), "action": "SCMP_ACT_ERRNO", "errnoRet": _EPERM}]
    rules += [
        {
            "names": ["clone"],
            "action": "SCMP_ACT_ERRNO",
            "errnoRet": _EPERM,
            "args": [{"index": 0, "value": flag, "valueTwo": flag, "op": "SCMP_CMP_MASKED_EQ"}],
        }
        for flag in _CLONE_NAMESPACE_FLAGS
    ]
    # clone3 passes its flags in memory, out of seccomp's sight: ENOSYS makes libc fall back to clone().
    rules.append({"names": ["clone3"], "action": "SCMP_ACT_ERRNO", "errnoRet": _ENOSYS})
    return {
        "defaultAction": "SCMP_ACT_ALLOW",
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64"],
        "syscalls": rules,
    }
