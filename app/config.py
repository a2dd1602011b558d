"""Service settings: built once at the edge (CLI or test) and passed down; no other module reads the env."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    # SageMaker waits 120 s between SIGTERM and SIGKILL; locally a shorter wait keeps stops snappy.
    stop_grace_seconds: float = Field(default=10.0, ge=0.0)
    # Upper bound between scheduler passes; creates, stops and process exits wake it at once.
    scheduler_interval_seconds: float = Field(default=1.0, gt=0.0)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'sagelite.db').resolve()}"
