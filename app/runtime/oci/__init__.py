"""The OCI sandbox: VMs as runc containers with their own cgroup, volume, hostname and network."""
