"""Errors a client can cause, with stable codes and messages in French and English.

Error tree::

    CauserieError                 base of everything we raise on purpose
    └── ClientError               the peer's fault: answered with an `error` event
        (code: ErrorCode, field, retry_after)

Server faults are not modelled here: the adapter logs them with context and
answers ``server_error``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final


class ErrorCode(StrEnum):
    """Stable machine codes of the `error` event (documented in docs/protocol.md)."""

    INVALID_JSON = "invalid_json"
    INVALID_FRAME = "invalid_frame"
    UNKNOWN_TYPE = "unknown_type"
    INVALID_FIELD = "invalid_field"
    INVALID_ARTICLE = "invalid_article"
    EMPTY_TEXT = "empty_text"
    TEXT_TOO_LONG = "text_too_long"
    FRAME_TOO_LARGE = "frame_too_large"
    BINARY_FRAME = "binary_frame"
    NOT_IN_CONVERSATION = "not_in_conversation"
    ALREADY_WAITING = "already_waiting"
    ALREADY_IN_CONVERSATION = "already_in_conversation"
    NO_ARTICLE = "no_article"
    RESUME_FAILED = "resume_failed"
    RATE_LIMITED = "rate_limited"
    FORBIDDEN_ORIGIN = "forbidden_origin"
    SERVER_ERROR = "server_error"
    # comments API (docs/api.md)
    INVALID_UTF8 = "invalid_utf8"
    MISSING_FIELD = "missing_field"
    INVALID_URL = "invalid_url"
    INVALID_SORT = "invalid_sort"
    INVALID_LIMIT = "invalid_limit"
    BAD_CURSOR = "bad_cursor"
    UNKNOWN_ARTICLE = "unknown_article"
    UNKNOWN_SITE = "unknown_site"
    UNKNOWN_PARENT = "unknown_parent"
    NAME_TOO_LONG = "name_too_long"
    TOO_MANY_URLS = "too_many_urls"
    BODY_TOO_LARGE = "body_too_large"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    MISSING_TOKEN = "missing_token"  # noqa: S105 (an error code, not a password)
    WRONG_TOKEN = "wrong_token"  # noqa: S105
    EDIT_WINDOW_OVER = "edit_window_over"
    NOT_FOUND = "not_found"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    # moderation
    MODERATION_COOLDOWN = "moderation_cooldown"
    # trust and safety
    NO_PARTNER = "no_partner"
    ALREADY_REPORTED = "already_reported"
    BANNED = "banned"


MESSAGES: Final[dict[ErrorCode, tuple[str, str]]] = {
    ErrorCode.INVALID_JSON: (
        "Trame illisible : ce n'est pas du JSON valide.",
        "Unreadable frame: not valid JSON.",
    ),
    ErrorCode.INVALID_FRAME: (
        "Trame invalide : un objet JSON avec un champ « type » est attendu.",
        "Invalid frame: a JSON object with a string 'type' field is expected.",
    ),
    ErrorCode.UNKNOWN_TYPE: ("Type de trame inconnu.", "Unknown frame type."),
    ErrorCode.INVALID_FIELD: (
        "Champ manquant ou de mauvais type.",
        "Missing field, or field of the wrong type.",
    ),
    ErrorCode.INVALID_ARTICLE: (
        "Adresse d'article invalide.",
        "Invalid article address.",
    ),
    ErrorCode.EMPTY_TEXT: ("Le message est vide.", "The message is empty."),
    ErrorCode.TEXT_TOO_LONG: ("Le message est trop long.", "The message is too long."),
    ErrorCode.FRAME_TOO_LARGE: ("Trame trop volumineuse.", "Frame too large."),
    ErrorCode.BINARY_FRAME: (
        "Les trames binaires ne sont pas acceptées.",
        "Binary frames are not accepted.",
    ),
    ErrorCode.NOT_IN_CONVERSATION: (
        "Tu n'es pas dans une conversation.",
        "You are not in a conversation.",
    ),
    ErrorCode.ALREADY_WAITING: (
        "Tu attends déjà un·e partenaire.",
        "You are already waiting for a partner.",
    ),
    ErrorCode.ALREADY_IN_CONVERSATION: (
        "Tu es déjà dans une conversation.",
        "You are already in a conversation.",
    ),
    ErrorCode.NO_ARTICLE: (
        "Choisis d'abord un article (join).",
        "Join an article first.",
    ),
    ErrorCode.RESUME_FAILED: (
        "Cette conversation ne peut plus être reprise.",
        "This conversation can no longer be resumed.",
    ),
    ErrorCode.RATE_LIMITED: (
        "Doucement ! Réessaie dans un instant.",
        "Slow down! Try again in a moment.",
    ),
    ErrorCode.FORBIDDEN_ORIGIN: (
        "Connexion refusée depuis ce site.",
        "Connection refused from this site.",
    ),
    ErrorCode.SERVER_ERROR: (
        "Erreur du serveur, réessaie plus tard.",
        "Server error, please try again later.",
    ),
    ErrorCode.INVALID_UTF8: (
        "Le corps de la requête n'est pas de l'UTF-8 valide.",
        "The request body is not valid UTF-8.",
    ),
    ErrorCode.MISSING_FIELD: ("Champ obligatoire manquant.", "A required field is missing."),
    ErrorCode.INVALID_URL: ("Adresse d'article invalide.", "Invalid article URL."),
    ErrorCode.INVALID_SORT: (
        "Tri inconnu (newest, oldest ou top).",
        "Unknown sort (newest, oldest or top).",
    ),
    ErrorCode.INVALID_LIMIT: ("Taille de page invalide (1 à 100).", "Invalid page size (1-100)."),
    ErrorCode.BAD_CURSOR: ("Curseur de pagination invalide.", "Invalid pagination cursor."),
    ErrorCode.UNKNOWN_ARTICLE: (
        "Aucun commentaire pour cet article.",
        "No comments for this article.",
    ),
    ErrorCode.UNKNOWN_SITE: (
        "Ce site n'utilise pas ce serveur de commentaires.",
        "This site does not use this comment server.",
    ),
    ErrorCode.UNKNOWN_PARENT: (
        "Le commentaire auquel tu réponds n'existe pas.",
        "The comment you reply to does not exist.",
    ),
    ErrorCode.NAME_TOO_LONG: ("Pseudonyme trop long.", "Display name too long."),
    ErrorCode.TOO_MANY_URLS: ("Trop d'adresses à la fois.", "Too many URLs at once."),
    ErrorCode.BODY_TOO_LARGE: ("Requête trop volumineuse.", "Request body too large."),
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: (
        "Le corps doit être du JSON (application/json).",
        "The body must be JSON (application/json).",
    ),
    ErrorCode.MISSING_TOKEN: (
        "Jeton d'auteur manquant (Authorization: Bearer).",
        "Missing author token (Authorization: Bearer).",
    ),
    ErrorCode.WRONG_TOKEN: (
        "Ce commentaire n'est pas le tien.",
        "This comment is not yours.",
    ),
    ErrorCode.EDIT_WINDOW_OVER: (
        "Le délai pour modifier ce commentaire est passé.",
        "The time to edit this comment is over.",
    ),
    ErrorCode.NOT_FOUND: ("Introuvable.", "Not found."),
    ErrorCode.METHOD_NOT_ALLOWED: ("Méthode non autorisée.", "Method not allowed."),
    ErrorCode.MODERATION_COOLDOWN: (
        "Après plusieurs messages refusés, fais une pause avant de discuter à nouveau.",
        "After several refused messages, take a break before chatting again.",
    ),
    ErrorCode.NO_PARTNER: (
        "Il n'y a personne à bloquer ou à signaler : aucune conversation récente.",
        "There is nobody to block or report: no recent conversation.",
    ),
    ErrorCode.ALREADY_REPORTED: (
        "Cette conversation a déjà été signalée. Merci.",
        "This conversation has already been reported. Thank you.",
    ),
    ErrorCode.BANNED: (
        "Vous ne pouvez pas participer pour le moment.",
        "You cannot take part at the moment.",
    ),
}


def human_message(code: ErrorCode, lang: str) -> str:
    """The human text for ``code`` in ``lang`` ("fr" or "en"; French otherwise)."""
    french, english = MESSAGES[code]
    return english if lang == "en" else french


class CauserieError(Exception):
    """Base of the errors causerie raises on purpose."""


class ClientError(CauserieError):
    """A refusal caused by the client; becomes an ``error`` event, never a crash.

    ``field`` names the offending field for ``invalid_field``; ``ref`` is the
    client id of the refused message; ``retry_after`` (seconds) accompanies
    ``rate_limited``.
    """

    def __init__(
        self,
        code: ErrorCode,
        *,
        field: str | None = None,
        ref: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(code.value)
        self.code = code
        self.field = field
        self.ref = ref
        self.retry_after = retry_after
