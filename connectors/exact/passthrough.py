"""Which raw paths the Exact passthrough forwards: only entity sets inside the connection's own division.

The gateway builds `{base}/api/v1/{division}/{path}` itself, so a path must not be able to name another host,
another division, or an endpoint outside the division API. Rules, applied to the path after percent-decoding it
until it no longer changes (so `%2e%2e` and `%252e%252e` are `..`):

- relative only: no scheme (`https:`), no `//`, no leading `/` or `\\`, no backslash anywhere;
- no `.` or `..` segment, no empty segment, no `?` or `#` (query options go in the `query` dict), no control
  characters or whitespace;
- the first segment must not be a number (Exact puts the division there: `../102/…` or `102/…` is another
  division) and must not be `current` (current/Me follows the user's UI division, picqer#470), `system`
  (system/Divisions lists every division the user has), `oauth2`/`api` (token endpoints), nor `webhooks`:
  webhook subscriptions are division-scoped, but they are made under the gateway's app with the gateway's
  webhook secret; a subscription a client adds or deletes would redirect or silence the gateway's own event feed.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from connectors.base.data import PassthroughDenied

METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
DENIED_FIRST_SEGMENTS = frozenset({"current", "system", "oauth2", "api", "webhooks", "_control"})
_SCHEME_RE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SEGMENT_RE = re.compile(r"[A-Za-z0-9_$(),'.=:+-]+")


def _fully_decoded(path: str) -> str:
    decoded = path
    for _ in range(5):
        once = unquote(decoded)
        if once == decoded:
            return decoded
        decoded = once
    raise PassthroughDenied(path, "The path is percent-encoded more times than any real path needs.")


def checked_path(path: str, method: str) -> str:
    """The path to forward (decoded), or PassthroughDenied naming the rule it breaks."""
    if method.upper() not in METHODS:
        raise PassthroughDenied(path, f"Method {method!r} is not passed through; use GET, POST, PUT or DELETE.")
    if not isinstance(path, str) or not path.strip():
        raise PassthroughDenied(str(path), "The path is empty; name an entity set such as crm/Accounts.")
    decoded = _fully_decoded(path)
    if _SCHEME_RE.match(decoded) or "//" in decoded:
        raise PassthroughDenied(path, "Absolute URLs are not passed through; give a path relative to the company.")
    if decoded.startswith(("/", "\\")) or "\\" in decoded:
        raise PassthroughDenied(path, "The path must be relative to the company (no leading slash or backslash).")
    if "?" in decoded or "#" in decoded:
        raise PassthroughDenied(path, "Put query options in `query`, not in the path.")
    segments = decoded.split("/")
    for segment in segments:
        if segment in ("", ".", ".."):
            raise PassthroughDenied(path, "Path segments '.', '..' and empty ones are not allowed.")
        if not _SEGMENT_RE.fullmatch(segment):
            raise PassthroughDenied(path, f"The path segment {segment!r} has characters Exact paths never use.")
    first = segments[0]
    if first.isdigit():
        raise PassthroughDenied(path, "The path must not name a division; the connection's division is added.")
    if first.lower() in DENIED_FIRST_SEGMENTS:
        raise PassthroughDenied(path, f"'{first}/' endpoints are not passed through (they reach beyond this company).")
    return decoded
