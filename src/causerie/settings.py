"""One settings object, built once at the edge (CLI or app factory) and passed down.

Read from ``CAUSERIE_*`` environment variables (and an optional ``.env``
file in the working directory); every field has an embedded default so that
``causerie serve`` runs with nothing configured. See the README's table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="CAUSERIE_", env_file=".env", extra="ignore", frozen=True
    )

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    data_dir: Path = Path("causerie-data")
    public_url: str | None = None
    """causerie's own origin as readers reach it (e.g. https://causerie.example).
    Default: taken from each request's Host header."""
    site_origins: Annotated[tuple[str, ...], NoDecode] = ()
    """Publisher origins allowed to embed the chat (frame-ancestors) and, with
    causerie's own origin, to open the chat socket. Comma-separated in the env."""
    demo: bool = True
    """Serve the demo article at / (on loopback the demo also allows the loopback origins)."""

    text_chars: int = Field(1000, ge=1, le=10_000)
    frame_bytes: int = Field(16 * 1024, ge=1024, le=60 * 1024)
    messages_per_second: float = Field(5.0, gt=0)
    message_burst: int = Field(10, ge=1)
    joins_per_minute: int = Field(30, ge=1)

    client_connections_per_minute: int = Field(300, ge=1)
    """Chat sockets one client (keyed address hash) may open per minute. Generous on
    purpose: many readers can share one address (offices, mobile carriers' NAT)."""
    client_joins_per_minute: int = Field(300, ge=1)
    """`join` and `next` per minute per client, whatever the number of its sockets."""
    comments_per_minute: int = Field(5, ge=1)
    """Comments one client may post per minute (burst of the same size)."""
    likes_per_minute: int = Field(60, ge=1)
    """Likes and unlikes one client may send per minute."""
    forwarded_allow_ips: str = "127.0.0.1"
    """Proxies whose X-Forwarded-For/-Proto are trusted for the client address."""

    chat_moderation: bool = True
    """Apply the moderation policy to chat messages: refused ones never reach the
    partner, personal data is masked. About 12 us per clean message (bench/README.md)."""
    chat_violations: int = Field(3, ge=1)
    """Refused chat messages after which the offender's conversation ends."""
    chat_cooldown: float = Field(600.0, ge=0)
    """Seconds such an offender (keyed address hash) must wait before joining again."""

    block_days: int = Field(30, ge=1, le=3650)
    """Days during which a reader who blocked their partner is not paired with them again."""
    reports_per_hour: int = Field(10, ge=1)
    """Reports one chat client (or address) may send per hour."""
    report_retention_days: int = Field(90, ge=1)
    """Days a handled report (with its transcript) is kept before it is deleted."""

    heartbeat: float = Field(15.0, gt=0)
    heartbeat_timeout: float = Field(45.0, gt=0)
    resume_window: float = Field(60.0, gt=0)
    outbox_frames: int = Field(256, ge=8)
    history_limit: int = Field(1000, ge=10)
    sweep_interval: float = Field(1.0, gt=0)

    database_url: str | None = None
    """postgresql://… for PostgreSQL; default: SQLite (WAL) in data_dir/causerie.db."""
    secret_key: str | None = None
    """Key of the hashes that recognize readers (likes) without storing them.
    Default: a random key kept in data_dir/secret.key (set one for a cluster)."""
    edit_window: float = Field(900.0, ge=0)
    """Seconds during which an author may edit or delete a comment."""
    comments_premoderation: bool = False
    """Hold every new comment for review (answered 202) instead of publishing it."""
    classifier: str | None = "causerie.moderation_model:ngram_classifier"
    """The offline classifier consulted after the word lists, ``package.module:factory``:
    imported and called once at start, it must return an object with
    ``scores(text, lang)`` (docs/moderation.md). Default: the packaged n-gram model;
    ``none`` (or empty) for the word lists alone."""

    log_level: str = "info"

    @field_validator("site_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().rstrip("/") for part in value.split(",") if part.strip())
        return value

    def frame_ancestors(self, port: int) -> tuple[str, ...]:
        """Origins allowed to embed the chat iframe and to open the socket."""
        origins = list(self.site_origins)
        if self.demo and not self.site_origins:
            origins += [f"http://127.0.0.1:{port}", f"http://localhost:{port}"]
        return tuple(origins)
