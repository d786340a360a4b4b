"""The Broker port (base.py) and its adapters: memory.py (embedded), redis.py (cluster, later)."""

from causerie.broker.base import (
    ArticleCounts,
    Attachment,
    Broker,
    BrokerUnavailable,
    ConversationListener,
    PartnerStatus,
    ResumeRefused,
    SeatTicket,
    Signal,
)

__all__ = [
    "ArticleCounts",
    "Attachment",
    "Broker",
    "BrokerUnavailable",
    "ConversationListener",
    "PartnerStatus",
    "ResumeRefused",
    "SeatTicket",
    "Signal",
]
