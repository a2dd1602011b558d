"""Service settings: built once at the edge (CLI or test) and passed down; no other module reads the env."""

from __future__ import annotations

from ipaddress import IPv4Network
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.log_format import LogFormat


class Settings(BaseSettings):
    """Every knob of the service; `SAGELITE_<NAME>` environment variables override the defaults."""

    model_config = SettingsConfigDict(env_prefix="SAGELITE_", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    data_dir: Path = Path(".sagelite")
    # Defaults to a SQLite file under data_dir; any SQLAlchemy URL works for the metadata store.
    database_url: str | None = None
    region: str = "us-east-1"
    account_id: str = Field(default="123456789012", pattern=r"^\d{12}$")
    # The JSON API never needs large bodies; reject bigger ones before reading them.
    max_request_bytes: int = Field(default=2 * 1024 * 1024, ge=1024)
    # Arrays and objects nested deeper than this in a JSON body are refused (400) before validation;
    # SageMaker's deepest request shape nests about 8 levels.
    max_json_depth: int = Field(default=64, ge=8, le=512)
    # Connection hygiene (app/connection_limits.py). A request's line and headers must arrive within
    # header_timeout of its first byte (or of the connection); a body that stops for body_timeout is cut
    # off. Responses (log streams) are never timed. Past max_connections, new connections get 503.
    header_timeout_seconds: float = Field(default=10.0, gt=0.0)
    body_timeout_seconds: float = Field(default=30.0, gt=0.0)
    keep_alive_timeout_seconds: int = Field(default=5, ge=1)
    max_connections: int = Field(default=4096, ge=1)
    log_level: str = "info"
    # text for people at a terminal; json (one object per line) for log shippers.
    log_format: LogFormat = "text"

    # Host pool. Without a file, one host describes this machine, with CPU and memory overcommitted the way
    # a virtualized server shares itself between VMs, so that the common instance types fit on a laptop.
    hosts_file: Path | None = None
    cpu_overcommit: float = Field(default=4.0, ge=1.0)
    memory_overcommit: float = Field(default=2.0, ge=1.0)
    # Volumes are thin-provisioned, as a hypervisor's are: VolumeSizeInGB reserves this share of free disk,
    # while each VM's real usage is still held to its own VolumeSizeInGB.
    disk_overcommit: float = Field(default=4.0, ge=1.0)
    # Placement never hands this much of the data directory's free disk to volumes: it stays for the
    # database and objects. With real volumes (OCI) disk is not overcommitted, so even full volumes leave it.
    disk_reserve_gib: float = Field(default=2.0, ge=0.0)
    # SageMaker waits 120 s between SIGTERM and SIGKILL; locally a shorter wait keeps stops snappy.
    stop_grace_seconds: float = Field(default=10.0, ge=0.0)
    # How a VM is isolated: `oci` runs each as a container through runc (namespaces, cgroups, a real volume),
    # `process` as a plain process group (machines without runc or root); `auto` picks oci where usable.
    isolation: Literal["auto", "oci", "process"] = "auto"
    # OCI only: every VM's process (and thread) count is capped, so a fork bomb stops there.
    vm_pids_limit: int = Field(default=1024, ge=16)
    # OCI only: all VMs together may use the machine's memory minus this much, kept for the server and host.
    vm_memory_reserve_gib: float = Field(default=2.0, ge=0.0)
    # OCI only: the runtime binary (Debian's runc; crun takes the same commands).
    runc_binary: str = "runc"
    # The most of one VM's output (stdout and stderr) its log keeps: past it the log ends with a line
    # `[sagelite] log truncated at N bytes ...` and the rest is discarded. 1 GiB.
    max_log_bytes_per_vm: int = Field(default=1024**3, ge=4096)
    # Upper bound between scheduler passes; creates, stops and process exits wake it at once.
    scheduler_interval_seconds: float = Field(default=1.0, gt=0.0)
    # How long a web console sign-in lasts; signing out ends it sooner.
    console_session_hours: float = Field(default=12.0, gt=0.0)
    # PostgreSQL with several replicas: the leading replica's lock session ends when it sends nothing for
    # this long (hung), and another replica takes over scheduling. A replica that dies is replaced at once.
    scheduler_lease_seconds: float = Field(default=10.0, ge=2.0)

    # VM networks (OCI executor). Each job gets a /24 of this pool on a bridge of its own; its VMs reach
    # each other and the server (through a relay on the bridge's gateway address), and nothing else
    # unless egress is allowed (a default route, masqueraded behind the host).
    vm_egress: Literal["deny", "allow"] = "deny"
    vm_network_pool: IPv4Network = IPv4Network("10.213.0.0/16")
    # Where Debian's containernetworking-plugins puts the CNI plugins.
    cni_plugin_dir: Path = Path("/usr/lib/cni")

    # Scale-out (README "Scaling out"). With a Ray cluster's address (`ray://head:10001`, or the GCS address
    # `head:6379` from a machine of the cluster), its nodes are the hosts and each VM runs on its node;
    # the pool follows the nodes every ray_sync_seconds. VMs on the nodes reach this server (its S3 API,
    # their credentials) at ray_server_url: give an address the nodes can reach (default: local_url).
    ray_address: str | None = None
    ray_sync_seconds: float = Field(default=2.0, gt=0.0)
    ray_server_url: str | None = None

    # Security. The root (admin) key of the default account; with neither set, a server bound to loopback
    # creates `test` / `test` (as local AWS emulators do) and any other server refuses to start.
    root_access_key_id: str | None = None
    root_secret_access_key: SecretStr | None = None
    # 32 raw bytes wrapping the stored secrets and the objects' data keys; created (0600) when absent.
    master_key_file: Path | None = None
    # HTTPS when both are given.
    certfile: Path | None = None
    keyfile: Path | None = None
    # Origins allowed to call the API from a browser (CORS); none by default.
    cors_origins: list[str] = Field(default_factory=list)
    # Token bucket per access key: a sustained rate and the burst above it.
    throttle_rate_per_second: float = Field(default=200.0, gt=0.0)
    throttle_burst: int = Field(default=400, ge=1)
    # Multipart uploads neither completed nor aborted this long after they began are aborted, as an S3
    # lifecycle rule with AbortIncompleteMultipartUpload would (swept at start-up and hourly).
    incomplete_upload_expiry_days: float = Field(default=7.0, gt=0.0)
    # Audit events older than this are deleted.
    audit_retention_days: int = Field(default=90, ge=1)

    # Operations. A bearer token Prometheus scrapes `/metrics` with (admins' signed requests need none).
    metrics_token: SecretStr | None = None
    # `/healthz` reports unhealthy when the data directory's file system has less free space than this.
    health_min_free_disk_mib: int = Field(default=512, ge=0)

    @property
    def local_url(self) -> str:
        """Where a process on this machine (a job's VM) reaches the server."""
        scheme = "https" if self.certfile else "http"
        host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(self.host, self.host)
        return f"{scheme}://{f'[{host}]' if ':' in host else host}:{self.port}"

    @property
    def vm_url(self) -> str:
        """Where a job's VMs reach the server: this machine's address, or the one Ray nodes are given."""
        return (self.ray_server_url or self.local_url).rstrip("/")

    @property
    def resolved_master_key_file(self) -> Path:
        return self.master_key_file or self.data_dir / "master.key"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sagelite.db').resolve()}"
