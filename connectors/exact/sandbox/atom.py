"""Atom XML rendering: what Exact answers when a request does not send `Accept: application/json`."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape, quoteattr

from connectors.exact.sandbox.odata import ODataError, wall_to_utc

if TYPE_CHECKING:
    from connectors.exact.sandbox.entities import EntitySet

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


_ATOM = "{http://www.w3.org/2005/Atom}"
_D = "{http://schemas.microsoft.com/ado/2007/08/dataservices}"
_MD = "{http://schemas.microsoft.com/ado/2007/08/dataservices/metadata}"
STREAM_ERROR = "Error processing request stream. The request should be a valid top-level resource object."


def _entry_values(entry: ElementTree.Element) -> dict[str, Any]:
    values: dict[str, Any] = {}
    properties = entry.find(f"{_ATOM}content/{_MD}properties")
    if properties is None:
        properties = entry.find(f"{_MD}properties")  # media-link entries carry them outside <content>
    for element in properties if properties is not None else []:
        if not element.tag.startswith(_D):
            continue
        name = element.tag[len(_D) :]
        # Typed text as in a JSON body; the write rules convert it by the property's Edm type.
        values[name] = None if element.get(f"{_MD}null") == "true" else (element.text or "")
    for link in entry.findall(f"{_ATOM}link"):
        rel = link.get("rel", "")
        if "/related/" not in rel:
            continue
        feed = link.find(f"{_MD}inline/{_ATOM}feed")
        if feed is not None:
            values[rel.rsplit("/", 1)[-1]] = [_entry_values(line) for line in feed.findall(f"{_ATOM}entry")]
    return values


def parse_atom_entry(raw: bytes) -> dict[str, Any]:
    """An Atom <entry> body (POST/PUT with an XML content type) as the property dict a JSON body would give;
    inline feeds of related entries (invoice lines) become lists."""
    try:
        # The sandbox binds to loopback and parses bodies of its own test clients; expat refuses entity bombs.
        root = ElementTree.fromstring(raw)  # noqa: S314
    except ElementTree.ParseError:
        raise ODataError(STREAM_ERROR) from None
    if root.tag != f"{_ATOM}entry":
        raise ODataError(STREAM_ERROR)
    return _entry_values(root)


def render_metadata(entity_sets: Sequence[EntitySet]) -> str:
    """An OData v2 EDMX document with the entity types (key and scalar properties) and sets of one service."""
    types: dict[str, EntitySet] = {}
    for entity in entity_sets:
        types.setdefault(entity.type_name, entity)
    parts = [
        '<?xml version="1.0" encoding="utf-8" standalone="yes"?>',
        '<edmx:Edmx Version="1.0" xmlns:edmx="http://schemas.microsoft.com/ado/2007/06/edmx">',
        '<edmx:DataServices m:DataServiceVersion="2.0" '
        'xmlns:m="http://schemas.microsoft.com/ado/2007/08/dataservices/metadata">',
    ]
    namespaces: dict[str, list[str]] = {}
    for type_name, entity in types.items():
        namespace, _, name = type_name.rpartition(".")
        body = [f"<EntityType Name={quoteattr(name)}><Key><PropertyRef Name={quoteattr(entity.key)} /></Key>"]
        for prop in entity.properties:
            if prop.is_navigation:
                continue
            nullable = ' Nullable="false"' if prop.name == entity.key else ""
            body.append(f"<Property Name={quoteattr(prop.name)} Type={quoteattr(prop.edm)}{nullable} />")
        body.append("</EntityType>")
        namespaces.setdefault(namespace, []).append("".join(body))
    container = "".join(
        f"<EntitySet Name={quoteattr(entity.path.rsplit('/', 1)[-1])} EntityType={quoteattr(entity.type_name)} />"
        for entity in entity_sets
    )
    names = list(namespaces)
    for index, namespace in enumerate(names):
        parts.append(f'<Schema Namespace={quoteattr(namespace)} xmlns="http://schemas.microsoft.com/ado/2008/09/edm">')
        parts.extend(namespaces[namespace])
        if index == len(names) - 1:
            parts.append(
                '<EntityContainer Name="ExactOnlineService" m:IsDefaultEntityContainer="true">'
                f"{container}</EntityContainer>"
            )
        parts.append("</Schema>")
    parts.append("</edmx:DataServices></edmx:Edmx>")
    return "".join(parts)
