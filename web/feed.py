"""The Atom feed of findings in `nianbao serve`: /nianbao/findings.atom, and one agency's with
?agency_id=ID (monitor/links.py). The XML is monitor/feeds.py's; this view only reads the rows
through Datasette's read-only connection and names where the store is served, so that entries
link to its pages."""

from __future__ import annotations

from datasette import NotFound, Response

from nianbao.monitor.feeds import FEED_LIMIT, FEED_SQL, findings_feed

DATABASE = "nianbao"


async def findings_feed_page(request, datasette) -> Response:
    db = datasette.get_database(DATABASE)
    agency_id = request.args.get("agency_id") or None
    agency_name = None
    if agency_id is not None:
        found = await db.execute("select name from agencies where id = :id", {"id": agency_id})
        row = found.first()
        if row is None:
            raise NotFound(f"no agency {agency_id!r}")
        agency_name = row["name"]
    rows = await db.execute(FEED_SQL, {"agency_id": agency_id, "limit": FEED_LIMIT})
    public_url = datasette.absolute_url(request, "/").rstrip("/")
    xml = findings_feed([dict(row) for row in rows.rows], public_url=public_url,
                        agency_id=agency_id, agency_name=agency_name)
    return Response(xml, content_type="application/atom+xml; charset=utf-8")
