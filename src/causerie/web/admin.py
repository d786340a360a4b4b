"""The moderator dashboard: server-rendered pages under ``/admin`` (French, and English).

Routes (HTML only, none of them in the OpenAPI schema)::

    GET  /admin                           the queue: held comments, open reports
    GET  /admin/login    POST /admin/login    sign in (name, password)
    POST /admin/logout
    GET  /admin/comments/{id}             one comment, its actions, the ban form
    POST /admin/comments/{id}/approve | reject | delete | ban
    GET  /admin/reports/{id}              one report with its transcript, the ban form
    POST /admin/reports/{id}/dismiss | ban
    GET  /admin/bans                      active bans
    POST /admin/bans/{id}/revoke
    GET  /admin/audit[?before_id=N]       the audit log, newest first, 50 a page
    GET  /admin/sites    POST /admin/sites    per-site moderation settings
    GET  /admin/admin.css

:func:`create_admin` returns an ``APIRouter``: the app includes it with
``app.include_router``. Every path answers every method itself (a wrong one gets
the 405 page), and a catch-all answers unknown ``/admin/...`` paths with the 404
page, so the app's JSON error handlers never see an admin request.

Security, in the order a request meets it:

- every response carries ``Cache-Control: no-store`` and a CSP that allows no
  script at all (:data:`ADMIN_HEADERS`);
- a POST whose ``Origin`` (or ``Sec-Fetch-Site``) says it comes from another
  origin is refused (403) before anything else;
- a session is a random token in the ``causerie_admin`` cookie (HttpOnly,
  SameSite=Strict, Path=/admin, Secure over https), known to the store only by
  its SHA-256; it lasts 12 hours. A cookie sent before signing in is never
  promoted: signing in always issues a new token (no session fixation);
- every POST carries the session's CSRF token in a ``csrf`` field (the login form:
  the double-submitted ``causerie_admin_csrf`` cookie), compared in constant time;
- passwords are argon2 hashes; an unknown name is verified against a dummy hash
  so that it costs the same time as a wrong password. At most two hashes are
  computed at once, in threads (each costs ~64 MiB and tens of milliseconds);
- login attempts: at most 5 a minute per address (its keyed hash of the day) and
  per name. Every attempt counts, successful or not, so that the sixth guess is
  refused *before* its password is checked. The per-name limit lets anyone delay a
  moderator's login by a minute by failing on their name: the price of making a
  distributed guess at one password slow;
- forms are ``application/x-www-form-urlencoded`` only, at most 64 KiB and 16
  fields, each field with its own maximum length; ids are integers below 2**31.

Failure modes: a bad value is a 400 page naming the field; an unknown id a 404
page; a database failure a 503 page (logged); a bug a 500 page (logged with its
traceback, no local variables). The hooks (``on_ban``, ``on_site_settings``) run
after the store has committed: if one fails, the failure is logged and the
moderator still sees the action done (it is).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Final
from urllib.parse import parse_qsl

import jinja2
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from causerie.core.comments import Status
from causerie.core.identity import day_scope, keyed_digest
from causerie.core.moderation import parse_actions
from causerie.core.ratelimit import KeyedBuckets
from causerie.core.safety import (
    US,
    Ban,
    BanKind,
    Report,
    ReportReason,
    ReportStatus,
    ban_expiry,
    utc_day,
)
from causerie.settings import Settings
from causerie.store.database import StoreError
from causerie.store.safety import (
    AdminSession,
    HeldComment,
    Moderator,
    SafetyStore,
    SiteSettings,
)

log = structlog.get_logger(__name__)

PREFIX: Final = "/admin"
SESSION_COOKIE: Final = "causerie_admin"
LOGIN_CSRF_COOKIE: Final = "causerie_admin_csrf"
LANG_COOKIE: Final = "causerie_admin_lang"
SESSION_US: Final = 12 * 3600 * US

MAX_NAME: Final = 40
MIN_PASSWORD: Final = 10
MAX_PASSWORD: Final = 1024
MAX_REASON: Final = 500
MAX_SITE: Final = 300
MAX_ACTIONS: Final = 10_000
MAX_TOKEN: Final = 100
MAX_FORM_BYTES: Final = 64 * 1024
MAX_FORM_FIELDS: Final = 16
MAX_ID: Final = 2**31 - 1
LOGIN_ATTEMPTS_PER_MINUTE: Final = 5
QUEUE_LIMIT: Final = 100
AUDIT_PAGE: Final = 50
BANS_LIMIT: Final = 200
KEY_PREFIX: Final = 8  # characters of a hash ever shown

DURATIONS: Final[dict[str, int]] = {
    "1h": 3600,
    "24h": 86_400,
    "7d": 7 * 86_400,
    "30d": 30 * 86_400,
    "365d": 365 * 86_400,
}

ADMIN_HEADERS: Final[dict[str, str]] = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer makes Chromium send "Origin: null"
    "X-Content-Type-Options": "nosniff",
}

METHODS: Final = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")

_TOKEN = re.compile(r"[A-Za-z0-9_-]{20,100}")
_ID = re.compile(r"[0-9]{1,10}")
_MODERATOR_NAME = re.compile(r"[\w.@+-]{1,40}")

_WEB = Path(str(resources.files("causerie.web")))
TEMPLATES_DIR: Final = _WEB / "templates" / "admin"
CSS_FILE: Final = _WEB / "static" / "admin.css"

# --- the words of the pages -----------------------------------------------------------

TEXT: Final[dict[str, dict[str, str]]] = {
    "fr": {
        "dashboard": "modération",
        "menu": "Menu",
        "queue": "File d'attente",
        "bans": "Bannissements",
        "audit": "Journal",
        "sites": "Sites",
        "logout": "Se déconnecter",
        "login": "Se connecter",
        "login_title": "Connexion des modérateurs",
        "name": "Nom",
        "password": "Mot de passe",
        "wrong_login": "Nom ou mot de passe incorrect.",
        "missing_login": "Indiquez un nom et un mot de passe.",
        "held_comments": "Commentaires en attente",
        "no_held": "Aucun commentaire en attente.",
        "open_reports": "Signalements ouverts",
        "no_reports": "Aucun signalement ouvert.",
        "article": "Article",
        "site": "Site",
        "posted": "Publié le",
        "received": "Reçu le",
        "text": "Texte",
        "status": "Statut",
        "reason": "Motif",
        "note": "Note du signalant",
        "no_note": "(pas de note)",
        "lines": "Lignes",
        "transcript": "Conversation transmise",
        "empty_transcript": "La conversation transmise est vide.",
        "open": "Ouvrir",
        "approve": "Approuver",
        "reject": "Rejeter",
        "delete": "Supprimer",
        "dismiss": "Classer sans suite",
        "ban": "Bannir",
        "ban_author": "Bannir l'auteur",
        "ban_title": "Bannir",
        "ban_kind": "Bannir par",
        "duration": "Durée",
        "ban_reason": "Motif (500 caractères au plus)",
        "ip_ban_note": (
            "Un bannissement par adresse prend fin à minuit UTC au plus tard : "
            "l'empreinte d'une adresse change chaque jour."
        ),
        "nothing_to_ban": "Aucune clé disponible pour bannir.",
        "comment": "Commentaire",
        "report": "Signalement",
        "author_key": "Clé d'auteur",
        "client_key": "Clé du client de discussion signalé",
        "address_key": "Clé d'adresse",
        "reporter_key": "Clé du client signalant",
        "key_available": "disponible",
        "key_missing": "aucune",
        "key_expired": "expirée (d'un autre jour UTC)",
        "handled_by": "Traité par",
        "kind_author": "auteur (jeton de son navigateur)",
        "kind_client": "client de discussion",
        "kind_ip": "adresse (jusqu'à minuit UTC au plus)",
        "duration_1h": "1 heure",
        "duration_24h": "24 heures",
        "duration_7d": "7 jours",
        "duration_30d": "30 jours",
        "duration_365d": "365 jours",
        "status_published": "publié",
        "status_held": "en attente",
        "status_deleted": "supprimé",
        "report_open": "ouvert",
        "report_dismissed": "classé sans suite",
        "report_actioned": "suivi d'une action",
        "reason_insult": "insulte",
        "reason_harassment": "harcèlement",
        "reason_threat": "menace",
        "reason_hate": "haine",
        "reason_sexual": "contenu sexuel",
        "reason_spam": "spam",
        "reason_other": "autre",
        "speaker_reporter": "Signalant",
        "speaker_reported": "Signalé·e",
        "active_bans": "Bannissements en cours",
        "no_bans": "Aucun bannissement en cours.",
        "kind": "Type",
        "key": "Clé",
        "created": "Créé le",
        "expires": "Fin",
        "by": "Par",
        "automatic": "automatique",
        "revoke": "Lever",
        "audit_title": "Journal des actions",
        "no_audit": "Le journal est vide.",
        "when": "Quand",
        "who": "Qui",
        "what": "Action",
        "target": "Cible",
        "detail": "Détail",
        "older": "Plus anciens",
        "newest": "Les plus récents",
        "sites_title": "Réglages de modération par site",
        "no_sites": "Aucun site n'a encore d'article.",
        "premoderation": "Pré-modération : retenir chaque commentaire pour relecture",
        "actions": "Actions",
        "actions_help": (
            "Une règle par ligne : « chat|comment CATÉGORIE allow|mask|hold|refuse », "
            "par exemple « comment spam hold ». Les catégories sans règle gardent "
            "l'action du serveur."
        ),
        "server_defaults": "Réglages du serveur (ce site n'a pas encore les siens).",
        "configured_by": "Modifié le {when} par {who}.",
        "save": "Enregistrer",
        "invalid_actions": "Actions invalides, rien n'a été enregistré :",
        "done_comment.approve": "Commentaire approuvé.",
        "done_comment.reject": "Commentaire rejeté.",
        "done_comment.delete": "Commentaire supprimé.",
        "done_ban.add": "Bannissement enregistré.",
        "done_ban.revoke": "Bannissement levé.",
        "done_report.dismiss": "Signalement classé sans suite.",
        "done_site.settings": "Réglages enregistrés.",
        "error": "Erreur",
        "back": "Retour à la file d'attente",
        "error_400": "Requête invalide.",
        "error_403": "Action refusée.",
        "error_404": "Introuvable.",
        "error_405": "Méthode non autorisée.",
        "error_409": "Déjà traité.",
        "error_413": "Formulaire trop volumineux.",
        "error_429": "Trop de tentatives.",
        "error_500": "Erreur du serveur.",
        "error_503": "Service momentanément indisponible.",
        "csrf": (
            "Jeton de formulaire absent ou invalide : rechargez la page et recommencez. "
            "Rien n'a été modifié."
        ),
        "foreign_origin": "Requête venue d'un autre site : refusée. Rien n'a été modifié.",
        "bad_form": "Formulaire illisible.",
        "too_long": "Champ trop long : {field}.",
        "bad_value": "Valeur invalide : {field}.",
        "bad_kind": "Ce type de bannissement n'est pas possible ici.",
        "bad_duration": "Durée inconnue.",
        "not_found": "Cette page ou cet élément n'existe pas.",
        "unknown_site": "Site inconnu.",
        "already_handled": "Cet élément a déjà été traité.",
        "too_large": "Le formulaire dépasse 64 Kio.",
        "rate_limited": ("Trop de tentatives de connexion : réessayez dans {seconds} secondes."),
        "method_not_allowed": "Cette adresse n'accepte pas cette méthode.",
        "store_failed": "La base de données ne répond pas : réessayez dans un instant.",
        "server_error": "Une erreur est survenue ; elle a été journalisée.",
    },
    "en": {
        "dashboard": "moderation",
        "menu": "Menu",
        "queue": "Queue",
        "bans": "Bans",
        "audit": "Audit log",
        "sites": "Sites",
        "logout": "Sign out",
        "login": "Sign in",
        "login_title": "Moderators' sign-in",
        "name": "Name",
        "password": "Password",
        "wrong_login": "Wrong name or password.",
        "missing_login": "Enter a name and a password.",
        "held_comments": "Held comments",
        "no_held": "No comment is waiting.",
        "open_reports": "Open reports",
        "no_reports": "No open report.",
        "article": "Article",
        "site": "Site",
        "posted": "Posted",
        "received": "Received",
        "text": "Text",
        "status": "Status",
        "reason": "Reason",
        "note": "Reporter's note",
        "no_note": "(no note)",
        "lines": "Lines",
        "transcript": "Transcript sent",
        "empty_transcript": "The transcript sent is empty.",
        "open": "Open",
        "approve": "Approve",
        "reject": "Reject",
        "delete": "Delete",
        "dismiss": "Dismiss",
        "ban": "Ban",
        "ban_author": "Ban the author",
        "ban_title": "Ban",
        "ban_kind": "Ban by",
        "duration": "Duration",
        "ban_reason": "Reason (500 characters at most)",
        "ip_ban_note": (
            "A ban by address ends at midnight UTC at the latest: an address's hash "
            "changes every day."
        ),
        "nothing_to_ban": "No key is available for a ban.",
        "comment": "Comment",
        "report": "Report",
        "author_key": "Author key",
        "client_key": "Reported chat client key",
        "address_key": "Address key",
        "reporter_key": "Reporter's chat client key",
        "key_available": "available",
        "key_missing": "none",
        "key_expired": "expired (from another UTC day)",
        "handled_by": "Handled by",
        "kind_author": "author (their browser's token)",
        "kind_client": "chat client",
        "kind_ip": "address (until midnight UTC at most)",
        "duration_1h": "1 hour",
        "duration_24h": "24 hours",
        "duration_7d": "7 days",
        "duration_30d": "30 days",
        "duration_365d": "365 days",
        "status_published": "published",
        "status_held": "held",
        "status_deleted": "deleted",
        "report_open": "open",
        "report_dismissed": "dismissed",
        "report_actioned": "actioned",
        "reason_insult": "insult",
        "reason_harassment": "harassment",
        "reason_threat": "threat",
        "reason_hate": "hate",
        "reason_sexual": "sexual content",
        "reason_spam": "spam",
        "reason_other": "other",
        "speaker_reporter": "Reporter",
        "speaker_reported": "Reported",
        "active_bans": "Active bans",
        "no_bans": "No active ban.",
        "kind": "Kind",
        "key": "Key",
        "created": "Created",
        "expires": "Ends",
        "by": "By",
        "automatic": "automatic",
        "revoke": "Revoke",
        "audit_title": "Audit log",
        "no_audit": "The log is empty.",
        "when": "When",
        "who": "Who",
        "what": "Action",
        "target": "Target",
        "detail": "Detail",
        "older": "Older",
        "newest": "Newest",
        "sites_title": "Moderation settings per site",
        "no_sites": "No site has an article yet.",
        "premoderation": "Pre-moderation: hold every comment for review",
        "actions": "Actions",
        "actions_help": (
            'One rule a line: "chat|comment CATEGORY allow|mask|hold|refuse", for '
            'example "comment spam hold". Categories without a rule keep the '
            "server's action."
        ),
        "server_defaults": "Server settings (this site has none of its own yet).",
        "configured_by": "Changed on {when} by {who}.",
        "save": "Save",
        "invalid_actions": "Invalid actions, nothing was saved:",
        "done_comment.approve": "Comment approved.",
        "done_comment.reject": "Comment rejected.",
        "done_comment.delete": "Comment deleted.",
        "done_ban.add": "Ban saved.",
        "done_ban.revoke": "Ban revoked.",
        "done_report.dismiss": "Report dismissed.",
        "done_site.settings": "Settings saved.",
        "error": "Error",
        "back": "Back to the queue",
        "error_400": "Bad request.",
        "error_403": "Refused.",
        "error_404": "Not found.",
        "error_405": "Method not allowed.",
        "error_409": "Already handled.",
        "error_413": "Form too large.",
        "error_429": "Too many attempts.",
        "error_500": "Server error.",
        "error_503": "Service unavailable for a moment.",
        "csrf": (
            "Missing or wrong form token: reload the page and try again. Nothing was changed."
        ),
        "foreign_origin": "Request from another site: refused. Nothing was changed.",
        "bad_form": "Unreadable form.",
        "too_long": "Field too long: {field}.",
        "bad_value": "Invalid value: {field}.",
        "bad_kind": "This kind of ban is not possible here.",
        "bad_duration": "Unknown duration.",
        "not_found": "This page or item does not exist.",
        "unknown_site": "Unknown site.",
        "already_handled": "This item has already been handled.",
        "too_large": "The form is larger than 64 KiB.",
        "rate_limited": "Too many sign-in attempts: try again in {seconds} seconds.",
        "method_not_allowed": "This address does not take this method.",
        "store_failed": "The database does not answer: try again in a moment.",
        "server_error": "Something went wrong; it has been logged.",
    },
}
LANGS: Final = tuple(TEXT)
DONE: Final = frozenset(key.removeprefix("done_") for key in TEXT["fr"] if key.startswith("done_"))


# --- errors ---------------------------------------------------------------------------


class PageError(Exception):
    """A refusal answered with the error page: ``key`` names its message in :data:`TEXT`,
    formatted with ``values`` (``field``, ``seconds``)."""

    def __init__(
        self,
        status: int,
        key: str,
        headers: Mapping[str, str] | None = None,
        **values: str,
    ) -> None:
        super().__init__(key)
        self.status = status
        self.key = key
        self.headers = dict(headers or {})
        self.values = values


class NotSignedIn(Exception):
    """No valid session: a GET is sent to the login page."""


# --- helpers without I/O --------------------------------------------------------------


def token_hash(token: str) -> str:
    """What the store keeps of a session token."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_token(given: str, expected: str) -> bool:
    """Constant-time comparison of two tokens (ASCII or not)."""
    return bool(expected) and hmac.compare_digest(given.encode(), expected.encode())


def check_moderator_name(name: str) -> str:
    """A new moderator's name: 1–40 letters, digits or ``.@+-_``. ValueError otherwise."""
    name = name.strip()
    if not _MODERATOR_NAME.fullmatch(name):
        raise ValueError(
            f"a moderator's name is 1 to {MAX_NAME} letters, digits or . @ + - _ (no spaces)"
        )
    return name


def check_password(password: str) -> str:
    """A new password: 10–1024 characters. ValueError otherwise."""
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise ValueError(f"a password is {MIN_PASSWORD} to {MAX_PASSWORD} characters")
    if "\x00" in password:
        raise ValueError("a password cannot hold a NUL character")
    return password


def parse_id(value: str) -> int:
    """An id from a path or a query: 1..2**31-1, else the 404 page."""
    if not _ID.fullmatch(value) or not 1 <= int(value) <= MAX_ID:
        raise PageError(404, "not_found")
    return int(value)


def when(microseconds: int | None) -> str:
    if microseconds is None:
        return ""
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(microseconds // US))


def short_key(value: str | None) -> str:
    """At most the first 8 characters of a hash, never the whole of it."""
    return f"{value[:KEY_PREFIX]}…" if value else ""


def now_us() -> int:
    return time.time_ns() // 1000


async def read_form(request: Request, limits: Mapping[str, int]) -> dict[str, str]:
    """The fields named in ``limits`` (name → maximum length) of an urlencoded form.

    400 page: another content type, an unreadable body, more than 16 fields, a field
    given twice, too long or holding a NUL; 413 page: a body over 64 KiB (refused
    from its Content-Length before it is read, when there is one). Other fields are
    ignored; line ends become ``\\n``.
    """
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise PageError(400, "bad_form")
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_FORM_BYTES:
        raise PageError(413, "too_large")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise PageError(413, "too_large")
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=MAX_FORM_FIELDS,
        )
    except ValueError as exc:  # UnicodeDecodeError is one; so are too many fields
        raise PageError(400, "bad_form") from exc
    form: dict[str, str] = {}
    for key, value in pairs:
        if key not in limits:
            continue
        if key in form:
            raise PageError(400, "bad_value", field=key)
        value = value.replace("\r\n", "\n").replace("\r", "\n")
        if len(value) > limits[key]:
            raise PageError(400, "too_long", field=key)
        if "\x00" in value:
            raise PageError(400, "bad_value", field=key)
        form[key] = value
    return form


def is_https(request: Request) -> bool:
    return request.url.scheme == "https"


def redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@dataclass(frozen=True, slots=True)
class BanRequest:
    """A checked ban form: what to ban, until when, why."""

    kind: BanKind
    value: str
    duration: str
    reason: str
    expires_us: int


@dataclass(frozen=True, slots=True)
class KeyState:
    """What a page may say about a key: whether it exists and can serve, and its prefix."""

    state: str  # "available", "missing", "expired"
    prefix: str


def key_state(value: str | None, *, day_of: int | None = None, now: int = 0) -> KeyState:
    """An address hash (``day_of`` given) is only usable on the UTC day it was made."""
    if not value:
        return KeyState("missing", "")
    if day_of is not None and utc_day(day_of) != utc_day(now):
        return KeyState("expired", short_key(value))
    return KeyState("available", short_key(value))


def comment_ban_options(comment: HeldComment, now: int) -> dict[BanKind, str]:
    options = {BanKind.AUTHOR: comment.author_hash} if comment.author_hash else {}
    if key_state(comment.ip_hash, day_of=comment.created_us, now=now).state == "available":
        options[BanKind.IP] = comment.ip_hash or ""
    return options


def report_ban_options(report: Report, now: int) -> dict[BanKind, str]:
    options = {BanKind.CLIENT: report.reported_client} if report.reported_client else {}
    if key_state(report.reported_ip, day_of=report.created_us, now=now).state == "available":
        options[BanKind.IP] = report.reported_ip or ""
    return options


def check_ban_form(form: Mapping[str, str], options: Mapping[BanKind, str], now: int) -> BanRequest:
    """The ban a form asks for, among ``options`` (kind → the key's value), or a 400 page."""
    try:
        kind = BanKind(form.get("kind", ""))
    except ValueError as exc:
        raise PageError(400, "bad_kind") from exc
    if kind not in options:
        raise PageError(400, "bad_kind")
    duration = form.get("duration", "")
    if duration not in DURATIONS:
        raise PageError(400, "bad_duration")
    expires = ban_expiry(kind, now, DURATIONS[duration] * US)
    return BanRequest(kind, options[kind], duration, form.get("reason", "").strip(), expires)


# --- the dashboard --------------------------------------------------------------------

Handler = Callable[[Request], Awaitable[Response]]


class Dashboard:
    """The pages and actions; one per app. See the module docstring for the rules."""

    def __init__(
        self,
        settings: Settings,
        safety: SafetyStore,
        secret: bytes,
        *,
        on_ban: Callable[[Ban], Awaitable[None]] | None = None,
        on_site_settings: Callable[[SiteSettings], None] | None = None,
        on_comment: Callable[[int], Awaitable[None]] | None = None,
        clock: Callable[[], float] = time.monotonic,
        now_us: Callable[[], int] = now_us,
    ) -> None:
        self.settings = settings
        self.safety = safety
        self.secret = secret
        self.on_ban = on_ban
        self.on_site_settings = on_site_settings
        self.on_comment = on_comment
        self.clock = clock
        self.now_us = now_us
        rate = LOGIN_ATTEMPTS_PER_MINUTE / 60.0
        self.attempts_by_client = KeyedBuckets(rate, LOGIN_ATTEMPTS_PER_MINUTE)
        self.attempts_by_name = KeyedBuckets(rate, LOGIN_ATTEMPTS_PER_MINUTE)
        self.hasher = PasswordHasher()
        self.dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))
        self.hashing = asyncio.Semaphore(2)
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
            auto_reload=False,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.filters["when"] = when
        self.templates.filters["short"] = short_key
        try:
            self.css = CSS_FILE.read_bytes()
        except OSError:
            self.css = b""
        own = (settings.public_url or "").rstrip("/").lower()
        self.public_origin = own or None

    # --- plumbing ---------------------------------------------------------------------

    def router(self) -> APIRouter:
        table: dict[str, dict[str, Handler]] = {
            "": {"GET": self.queue},
            "/": {"GET": self.to_queue},
            "/login": {"GET": self.login_page, "POST": self.login},
            "/logout": {"POST": self.logout},
            "/comments/{item}": {"GET": self.comment_page},
            "/comments/{item}/approve": {"POST": self.comment_approve},
            "/comments/{item}/reject": {"POST": self.comment_reject},
            "/comments/{item}/delete": {"POST": self.comment_delete},
            "/comments/{item}/ban": {"POST": self.comment_ban},
            "/reports/{item}": {"GET": self.report_page},
            "/reports/{item}/dismiss": {"POST": self.report_dismiss},
            "/reports/{item}/ban": {"POST": self.report_ban},
            "/bans": {"GET": self.bans_page},
            "/bans/{item}/revoke": {"POST": self.ban_revoke},
            "/audit": {"GET": self.audit_page},
            "/sites": {"GET": self.sites_page, "POST": self.save_site},
            "/admin.css": {"GET": self.stylesheet},
            "/{rest:path}": {},  # anything else under /admin: the 404 page
        }
        routes = APIRouter(prefix=PREFIX, include_in_schema=False)
        for path, handlers in table.items():
            routes.add_api_route(
                path,
                self._endpoint(handlers),
                methods=list(METHODS),
                include_in_schema=False,
                name=f"admin{path}",
            )
        return routes

    def _endpoint(self, handlers: Mapping[str, Handler]) -> Handler:
        async def endpoint(request: Request) -> Response:
            method = "GET" if request.method == "HEAD" else request.method
            handler = handlers.get(method)
            try:
                if handler is None:
                    if not handlers:
                        raise PageError(404, "not_found")
                    allow = {"Allow": ", ".join(handlers)}
                    raise PageError(405, "method_not_allowed", allow)
                response = await handler(request)
            except PageError as exc:
                response = self.error_page(request, exc)
            except NotSignedIn:
                response = redirect(f"{PREFIX}/login")
            except StoreError:
                log.error("admin_store_failed", path=request.url.path, exc_info=True)
                response = self.error_page(request, PageError(503, "store_failed"))
            except ClientDisconnect:
                response = Response(status_code=400)
            except Exception:
                log.exception("admin_failed", path=request.url.path, method=request.method)
                response = self.error_page(request, PageError(500, "server_error"))
            return self.finish(request, response)

        return endpoint

    def finish(self, request: Request, response: Response) -> Response:
        response.headers.update(ADMIN_HEADERS)
        chosen = request.query_params.get("lang")
        if chosen in LANGS:
            response.set_cookie(
                LANG_COOKIE,
                chosen,
                max_age=365 * 86_400,
                path=PREFIX,
                httponly=True,
                samesite="strict",
                secure=is_https(request),
            )
        return response

    def lang_of(self, request: Request) -> str:
        for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
            if candidate in LANGS:
                return str(candidate)
        accept = request.headers.get("accept-language", "")
        return "en" if accept[:2].lower() == "en" else "fr"

    def render(
        self,
        request: Request,
        template: str,
        *,
        status: int = 200,
        session: AdminSession | None = None,
        **context: object,
    ) -> Response:
        lang = self.lang_of(request)
        html = self.templates.get_template(template).render(
            lang=lang, t=TEXT[lang], session=session, durations=DURATIONS, **context
        )
        return HTMLResponse(html, status_code=status)

    def error_page(self, request: Request, error: PageError) -> Response:
        text = TEXT[self.lang_of(request)]
        message = text[error.key].format(**error.values) if error.values else text[error.key]
        response = self.render(
            request,
            "error.html",
            status=error.status,
            title=text.get(f"error_{error.status}", text["error"]),
            message=message,
        )
        response.headers.update(error.headers)
        return response

    def check_origin(self, request: Request) -> None:
        """A POST must come from a page of ours: refuse a foreign ``Origin`` or
        ``Sec-Fetch-Site`` (either may be absent, e.g. for a script)."""
        origin = request.headers.get("origin")
        if origin is not None:
            own = f"{request.url.scheme}://{request.url.netloc}".lower()
            if origin.rstrip("/").lower() not in (own, self.public_origin):
                raise PageError(403, "foreign_origin")
        fetch_site = request.headers.get("sec-fetch-site")
        if fetch_site is not None and fetch_site not in ("same-origin", "none"):
            raise PageError(403, "foreign_origin")

    async def current_session(self, request: Request) -> AdminSession:
        token = request.cookies.get(SESSION_COOKIE)
        if token is None or not _TOKEN.fullmatch(token):
            raise NotSignedIn
        session = await self.safety.session(token_hash(token), self.now_us())
        if session is None:
            raise NotSignedIn
        return session

    async def signed_in_form(
        self, request: Request, limits: Mapping[str, int] | None = None
    ) -> tuple[AdminSession, dict[str, str]]:
        """Origin, session, form, then the session's CSRF token: a POST's checks."""
        self.check_origin(request)
        session = await self.current_session(request)
        form = await read_form(request, {**(limits or {}), "csrf": MAX_TOKEN})
        if not same_token(form.get("csrf", ""), session.csrf):
            raise PageError(403, "csrf")
        return session, form

    async def audit(
        self, moderator: Moderator | None, action: str, target: str, detail: str = ""
    ) -> None:
        await self.safety.audit(moderator, action, target, detail, self.now_us())

    # --- signing in and out -----------------------------------------------------------

    async def to_queue(self, request: Request) -> Response:
        return redirect(PREFIX)

    async def stylesheet(self, request: Request) -> Response:
        return Response(self.css, media_type="text/css")

    async def login_page(self, request: Request) -> Response:
        try:
            await self.current_session(request)
        except NotSignedIn:
            return self.login_form(request)
        return redirect(PREFIX)

    def login_form(
        self, request: Request, *, status: int = 200, error: str | None = None, name: str = ""
    ) -> Response:
        token = request.cookies.get(LOGIN_CSRF_COOKIE)
        if token is None or not _TOKEN.fullmatch(token):
            token = secrets.token_urlsafe(32)
        response = self.render(
            request,
            "login.html",
            status=status,
            title=TEXT[self.lang_of(request)]["login_title"],
            csrf=token,
            error=error,
            name=name,
        )
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
        )
        return response

    def client_key(self, request: Request) -> str:
        """The keyed, daily-rotated hash of the client's address (as the comments API)."""
        address = request.client.host if request.client else "unknown"
        day = time.strftime("%Y-%m-%d", time.gmtime())
        return keyed_digest(self.secret, day_scope("admin", day), address)

    def check_attempt(self, request: Request, name: str) -> None:
        """Count a login attempt, or refuse it (429) when 5 were made in the last minute
        from this address or on this name."""
        now = self.clock()
        wait = self.attempts_by_client.take(self.client_key(request), now)
        if not wait:
            name_key = keyed_digest(self.secret, "admin-name", name.casefold())
            wait = self.attempts_by_name.take(name_key, now)
        if wait:
            seconds = str(max(1, math.ceil(wait)))
            raise PageError(429, "rate_limited", {"Retry-After": seconds}, seconds=seconds)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    async def verify(self, moderator: Moderator | None, password: str) -> bool:
        """Same work whether the moderator exists or not (dummy hash)."""
        password_hash = moderator.password_hash if moderator else self.dummy_hash
        async with self.hashing:
            valid = await asyncio.to_thread(self._verify, password_hash, password)
        return valid and moderator is not None

    async def login(self, request: Request) -> Response:
        self.check_origin(request)
        form = await read_form(
            request, {"csrf": MAX_TOKEN, "name": 4 * MAX_NAME, "password": MAX_PASSWORD}
        )
        if not same_token(form.get("csrf", ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
            raise PageError(403, "csrf")
        name, password = form.get("name", "").strip(), form.get("password", "")
        if not name or not password:
            return self.login_form(request, status=400, error="missing_login", name=name)
        self.check_attempt(request, name)
        moderator = await self.safety.moderator_by_name(name) if len(name) <= MAX_NAME else None
        if not await self.verify(moderator, password) or moderator is None:
            await self.audit(None, "login.failed", "", f"name: {name[:MAX_NAME]}")
            return self.login_form(request, status=401, error="wrong_login", name=name)
        if self.hasher.check_needs_rehash(moderator.password_hash):
            async with self.hashing:
                rehashed = await asyncio.to_thread(self.hasher.hash, password)
            await self.safety.set_password(moderator.id, rehashed)
        previous = request.cookies.get(SESSION_COOKIE)
        if previous is not None and _TOKEN.fullmatch(previous):
            await self.safety.delete_session(token_hash(previous))  # replaced, never reused
        token, now = secrets.token_urlsafe(32), self.now_us()
        await self.safety.create_session(
            token_hash(token),
            moderator,
            csrf=secrets.token_urlsafe(32),
            now_us=now,
            expires_us=now + SESSION_US,
        )
        await self.audit(moderator, "login", "")
        response = redirect(PREFIX)
        response.set_cookie(
            SESSION_COOKIE,
            token,
            max_age=SESSION_US // US,
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=is_https(request),
        )
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    async def logout(self, request: Request) -> Response:
        session, _ = await self.signed_in_form(request)
        await self.safety.delete_session(token_hash(request.cookies.get(SESSION_COOKIE, "")))
        await self.audit(session.moderator, "logout", "")
        response = redirect(f"{PREFIX}/login")
        response.delete_cookie(
            SESSION_COOKIE, path=PREFIX, httponly=True, samesite="strict", secure=is_https(request)
        )
        return response

    # --- the queue and comments -------------------------------------------------------

    async def queue(self, request: Request) -> Response:
        session = await self.current_session(request)
        held = await self.safety.held_comments(limit=QUEUE_LIMIT)
        reports = await self.safety.reports(ReportStatus.OPEN, limit=QUEUE_LIMIT)
        done = request.query_params.get("done")
        return self.render(
            request,
            "queue.html",
            session=session,
            title=TEXT[self.lang_of(request)]["queue"],
            held=held,
            reports=reports,
            limit=QUEUE_LIMIT,
            done=done if done in DONE else None,
        )

    async def comment_of(self, request: Request) -> HeldComment:
        comment = await self.safety.comment(parse_id(request.path_params["item"]))
        if comment is None:
            raise PageError(404, "not_found")
        return comment

    async def comment_page(self, request: Request) -> Response:
        session = await self.current_session(request)
        comment = await self.comment_of(request)
        now = self.now_us()
        return self.render(
            request,
            "comment.html",
            session=session,
            title=f"{TEXT[self.lang_of(request)]['comment']} #{comment.id}",
            comment=comment,
            address=key_state(comment.ip_hash, day_of=comment.created_us, now=now),
            kinds=list(comment_ban_options(comment, now)),
            done=None,
        )

    async def comment_approve(self, request: Request) -> Response:
        return await self.do_comment_status(request, "approve")

    async def comment_reject(self, request: Request) -> Response:
        return await self.do_comment_status(request, "reject")

    async def comment_delete(self, request: Request) -> Response:
        return await self.do_comment_status(request, "delete")

    async def do_comment_status(self, request: Request, action: str) -> Response:
        """approve and reject take a held comment; delete any comment not yet deleted."""
        session, _ = await self.signed_in_form(request)
        comment = await self.comment_of(request)
        allowed = (
            comment.status is Status.HELD
            if action in ("approve", "reject")
            else comment.status is not Status.DELETED
        )
        if not allowed:
            raise PageError(409, "already_handled")
        status = Status.PUBLISHED if action == "approve" else Status.DELETED
        if not await self.safety.set_comment_status(comment.id, status):
            raise PageError(404, "not_found")
        await self.audit(session.moderator, f"comment.{action}", f"comment:{comment.id}")
        await self.comment_changed(comment.id)
        return redirect(f"{PREFIX}?done=comment.{action}")

    async def comment_changed(self, comment_id: int) -> None:
        """Tell the app (``on_comment``), e.g. to show the change to live readers."""
        if self.on_comment is not None:
            try:
                await self.on_comment(comment_id)
            except Exception:
                log.exception("admin_on_comment_failed", comment=comment_id)

    async def comment_ban(self, request: Request) -> Response:
        """Ban the comment's author (or address) and delete the comment."""
        session, form = await self.signed_in_form(request, _BAN_FIELDS)
        comment = await self.comment_of(request)
        now = self.now_us()
        wanted = check_ban_form(form, comment_ban_options(comment, now), now)
        ban = await self.do_ban(session, wanted, f"comment:{comment.id}")
        if comment.status is not Status.DELETED:
            await self.safety.set_comment_status(comment.id, Status.DELETED)
            await self.audit(
                session.moderator, "comment.delete", f"comment:{comment.id}", f"ban:{ban.id}"
            )
            await self.comment_changed(comment.id)
        return redirect(f"{PREFIX}?done=ban.add")

    async def do_ban(self, session: AdminSession, wanted: BanRequest, source: str) -> Ban:
        """Store the ban, log it, then tell the app (``on_ban``)."""
        ban = await self.safety.add_ban(
            wanted.kind,
            wanted.value,
            reason=wanted.reason,
            expires_us=wanted.expires_us,
            moderator=session.moderator,
            now_us=self.now_us(),
        )
        detail = f"{source} {wanted.kind.value} {wanted.duration}: {wanted.reason[:200]}"
        await self.audit(session.moderator, "ban.add", f"ban:{ban.id}", detail)
        if self.on_ban is not None:
            try:
                await self.on_ban(ban)
            except Exception:  # the ban is stored: it applies at the next check anyway
                log.exception("admin_on_ban_failed", ban=ban.id)
        return ban

    # --- reports ----------------------------------------------------------------------

    async def report_of(self, request: Request) -> Report:
        report = await self.safety.report(parse_id(request.path_params["item"]))
        if report is None:
            raise PageError(404, "not_found")
        return report

    async def report_page(self, request: Request) -> Response:
        session = await self.current_session(request)
        report = await self.report_of(request)
        now = self.now_us()
        return self.render(
            request,
            "report.html",
            session=session,
            title=f"{TEXT[self.lang_of(request)]['report']} #{report.id}",
            report=report,
            client=key_state(report.reported_client),
            address=key_state(report.reported_ip, day_of=report.created_us, now=now),
            reporter=key_state(report.reporter_client),
            kinds=list(report_ban_options(report, now)),
            reasons=ReportReason,
        )

    async def report_dismiss(self, request: Request) -> Response:
        session, _ = await self.signed_in_form(request)
        report = await self.report_of(request)
        if not await self.safety.set_report_status(
            report.id, ReportStatus.DISMISSED, moderator=session.moderator, now_us=self.now_us()
        ):
            raise PageError(409, "already_handled")
        await self.audit(session.moderator, "report.dismiss", f"report:{report.id}")
        return redirect(f"{PREFIX}?done=report.dismiss")

    async def report_ban(self, request: Request) -> Response:
        """Ban the reported reader (chat client or address); the report is then actioned."""
        session, form = await self.signed_in_form(request, _BAN_FIELDS)
        report = await self.report_of(request)
        now = self.now_us()
        wanted = check_ban_form(form, report_ban_options(report, now), now)
        await self.do_ban(session, wanted, f"report:{report.id}")
        if report.status is ReportStatus.OPEN:
            await self.safety.set_report_status(
                report.id, ReportStatus.ACTIONED, moderator=session.moderator, now_us=now
            )
        return redirect(f"{PREFIX}?done=ban.add")

    # --- bans and the audit log -------------------------------------------------------

    async def bans_page(self, request: Request) -> Response:
        session = await self.current_session(request)
        bans = await self.safety.bans(self.now_us(), active_only=True, limit=BANS_LIMIT)
        done = request.query_params.get("done")
        return self.render(
            request,
            "bans.html",
            session=session,
            title=TEXT[self.lang_of(request)]["bans"],
            bans=bans,
            done=done if done in DONE else None,
        )

    async def ban_revoke(self, request: Request) -> Response:
        session, _ = await self.signed_in_form(request)
        ban_id = parse_id(request.path_params["item"])
        ban = await self.safety.revoke_ban(ban_id, self.now_us())
        if ban is None:
            raise PageError(404, "not_found")
        await self.audit(session.moderator, "ban.revoke", f"ban:{ban.id}", ban.kind.value)
        return redirect(f"{PREFIX}/bans?done=ban.revoke")

    async def audit_page(self, request: Request) -> Response:
        session = await self.current_session(request)
        before = request.query_params.get("before_id")
        before_id = None
        if before is not None:
            if not _ID.fullmatch(before) or not 1 <= int(before) <= MAX_ID:
                raise PageError(400, "bad_value", field="before_id")
            before_id = int(before)
        entries = await self.safety.audit_log(limit=AUDIT_PAGE, before_id=before_id)
        return self.render(
            request,
            "audit.html",
            session=session,
            title=TEXT[self.lang_of(request)]["audit_title"],
            entries=entries,
            paged=before_id is not None,
            older=entries[-1].id if len(entries) == AUDIT_PAGE else None,
        )

    # --- per-site settings ------------------------------------------------------------

    async def known_sites(self) -> tuple[list[str], dict[str, SiteSettings]]:
        configured = {item.site: item for item in await self.safety.all_site_settings()}
        return sorted({*await self.safety.sites(), *configured}), configured

    async def sites_page(self, request: Request) -> Response:
        session = await self.current_session(request)
        return await self.render_sites(request, session)

    async def render_sites(
        self,
        request: Request,
        session: AdminSession,
        *,
        status: int = 200,
        failed: SiteForm | None = None,
    ) -> Response:
        names, configured = await self.known_sites()
        forms = []
        for site in names:
            if failed is not None and failed.site == site:
                forms.append(failed)
                continue
            saved = configured.get(site)
            forms.append(
                SiteForm(
                    site,
                    saved.premoderation if saved else self.settings.comments_premoderation,
                    saved.actions if saved else "",
                    saved,
                    None,
                )
            )
        done = request.query_params.get("done")
        return self.render(
            request,
            "sites.html",
            status=status,
            session=session,
            title=TEXT[self.lang_of(request)]["sites_title"],
            forms=forms,
            done=done if done in DONE and failed is None else None,
        )

    async def save_site(self, request: Request) -> Response:
        session, form = await self.signed_in_form(
            request, {"site": MAX_SITE, "premoderation": 10, "actions": MAX_ACTIONS}
        )
        site = form.get("site", "")
        names, configured = await self.known_sites()
        if site not in names:
            raise PageError(404, "unknown_site")
        checkbox = form.get("premoderation")
        if checkbox not in (None, "on"):
            raise PageError(400, "bad_value", field="premoderation")
        premoderation, actions = checkbox == "on", form.get("actions", "").strip()
        try:
            parse_actions(actions)
        except ValueError as exc:
            failed = SiteForm(site, premoderation, actions, configured.get(site), str(exc))
            return await self.render_sites(request, session, status=400, failed=failed)
        saved = await self.safety.save_site_settings(
            site,
            premoderation=premoderation,
            actions=actions,
            moderator=session.moderator,
            now_us=self.now_us(),
        )
        rules = sum(1 for line in actions.splitlines() if line.split("#", 1)[0].strip())
        detail = f"premoderation {'on' if premoderation else 'off'}, {rules} rules"
        await self.audit(session.moderator, "site.settings", f"site:{site}", detail)
        if self.on_site_settings is not None:
            try:
                self.on_site_settings(saved)
            except Exception:  # saved: other nodes pick it up at their next refresh
                log.exception("admin_on_site_settings_failed", site=site)
        return redirect(f"{PREFIX}/sites?done=site.settings")


@dataclass(frozen=True, slots=True)
class SiteForm:
    """One site's form on the settings page, as saved or as just (wrongly) submitted."""

    site: str
    premoderation: bool
    actions: str
    saved: SiteSettings | None
    error: str | None


_BAN_FIELDS: Final = {"kind": 16, "duration": 16, "reason": MAX_REASON}


def create_admin(
    settings: Settings,
    safety: SafetyStore,
    secret: bytes,
    *,
    on_ban: Callable[[Ban], Awaitable[None]] | None = None,
    on_site_settings: Callable[[SiteSettings], None] | None = None,
    on_comment: Callable[[int], Awaitable[None]] | None = None,
) -> APIRouter:
    """The dashboard's routes, for ``app.include_router``.

        ``on_ban`` is awaited after a ban is stored (e.g. to disconnect a banned reader),
        ``on_site_settings`` called after a site's settings are saved (e.g. to recompile
        its policy), ``on_comment`` awaited with a comment's id after a moderator published or
    deleted it (e.g. to update live readers). Their failures are logged, never shown as
    the action's failure.
    """
    dashboard = Dashboard(
        settings,
        safety,
        secret,
        on_ban=on_ban,
        on_site_settings=on_site_settings,
        on_comment=on_comment,
    )
    return dashboard.router()
