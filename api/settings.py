"""Service settings from the environment (``DOM_*``), with defaults that just work."""

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from data.store import default_db_path


class Settings(BaseSettings):
    """``DOM_DB_PATH``, ``DOM_API_KEYS`` (JSON ``{"key": "role"}`` or ``"node:ST1"``), ..."""

    model_config = SettingsConfigDict(env_prefix="DOM_", extra="ignore")

    db_path: Path = Field(default_factory=default_db_path)
    api_keys: dict[str, str] = Field(
        default_factory=dict, description="Keys to seed on start-up: key -> role[:node_id]."
    )
    bootstrap_admin: bool = Field(
        default=True, description="With no key at all, create an admin key and log it once."
    )
    run_time_limit: float = Field(default=30.0, gt=0, description="Seconds per sourcing run.")
    ray_address: str | None = Field(
        default=None,
        description="Ray cluster for the sourcing runs' optimizer (auto, ray://host:10001, local).",
    )
    web_secret: str | None = Field(
        default=None,
        description="Signs console session cookies; unset: a random one per process.",
    )
