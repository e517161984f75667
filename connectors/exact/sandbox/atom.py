"""Atom XML rendering: what Exact answers when a request does not send `Accept: application/json`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from connectors.exact.sandbox.odata import wall_to_utc

_NS = (
    'xmlns="http://www.w3.org/2005/Atom" '
    'xmlns:d="http://schemas.microsoft.com/ado/2007/08/dataservices" '
    'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata"'
)
_RELATED = "http://schemas.microsoft.com/ado/2007/08/dataservices/related/"
_SCHEME = "http://schemas.microsoft.com/ado/2007/08/dataservices/scheme"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        # Atom carries the same wall-clock time Exact stores, in ISO form.
        return value.isoformat(timespec="milliseconds") if value.microsecond else value.isoformat()
    return escape(str(value))


def _properties(record: dict[str, Any], edm: dict[str, str], prefix: str) -> str:
    parts = []
    for name, value in record.items():
        if name == "__metadata" or isinstance(value, dict):
            continue
        edm_type = edm.get(prefix + name, "Edm.String")
        type_attr = "" if edm_type == "Edm.String" else f' m:type="{edm_type}"'
        if value is None:
            parts.append(f'<d:{name}{type_attr} m:null="true" />')
        else:
            parts.append(f"<d:{name}{type_attr}>{_text(value)}</d:{name}>")
    return "".join(parts)


def _entry(record: dict[str, Any], edm: dict[str, str], prefix: str = "") -> str:
    meta = record["__metadata"]
    uri = meta["uri"]
    links = [f'<link rel="edit" title={quoteattr(meta["type"].rsplit(".", 1)[-1])} href={quoteattr(uri)} />']
    for name, value in record.items():
        if name == "__metadata" or not isinstance(value, dict):
            continue
        if "__deferred" in value:
            links.append(
                f'<link rel="{_RELATED}{name}" type="application/atom+xml;type=feed" title="{name}" '
                f"href={quoteattr(value['__deferred']['uri'])} />"
            )
        elif "results" in value:
            inner = "".join(_entry(line, edm, f"{name}/") for line in value["results"])
            links.append(
                f'<link rel="{_RELATED}{name}" type="application/atom+xml;type=feed" title="{name}" '
                f'href={quoteattr(uri + "/" + name)}><m:inline><feed><title type="text">{name}</title>'
                f"{inner}</feed></m:inline></link>"
            )
    updated = record.get("Modified")
    stamp = wall_to_utc(updated).strftime("%Y-%m-%dT%H:%M:%SZ") if isinstance(updated, datetime) else _now()
    return (
        f'<entry><id>{escape(uri)}</id><title type="text" /><updated>{stamp}</updated>'
        f"<author><name /></author>{''.join(links)}"
        f'<category term={quoteattr(meta["type"])} scheme="{_SCHEME}" />'
        f'<content type="application/xml"><m:properties>{_properties(record, edm, prefix)}</m:properties>'
        f"</content></entry>"
    )


def render_atom_entry(record: dict[str, Any], edm: dict[str, str]) -> str:
    """One entity as an Atom <entry> document."""
    body = _entry(record, edm)
    return '<?xml version="1.0" encoding="utf-8"?>' + body.replace("<entry>", f"<entry {_NS}>", 1)


def render_atom_feed(
    records: list[dict[str, Any]],
    edm: dict[str, str],
    *,
    title: str,
    feed_id: str,
    next_link: str | None,
    count: int | None,
) -> str:
    """A collection as an Atom <feed> with m:properties/d:Field per entry and a rel="next" link."""
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><feed {_NS}>',
        f'<title type="text">{escape(title)}</title><id>{escape(feed_id)}</id><updated>{_now()}</updated>',
        f'<link rel="self" title={quoteattr(title)} href={quoteattr(title)} />',
    ]
    if count is not None:
        parts.append(f"<m:count>{count}</m:count>")
    parts.extend(_entry(record, edm) for record in records)
    if next_link is not None:
        parts.append(f'<link rel="next" href={quoteattr(next_link)} />')
    parts.append("</feed>")
    return "".join(parts)
