"""Links into the served store: the contract between notifications, feeds, reports and
`nianbao serve`.

With the registry's `public_url` (or `--public-url`) set to where the store is served
(`https://nianbao.example.org`, without a final '/'):

- a report:  {public_url}/-/report/{report_id}    (`nianbao serve`'s page of the report as a document)
- a finding: {public_url}/nianbao/findings/{finding_id}  (the row page of `findings`; for a
  `changed` finding the served page shows its diff)
- the findings feed: {public_url}/nianbao/findings.atom, one agency's:
  {public_url}/nianbao/findings.atom?agency_id={agency_id}

`nianbao` is the database name in storage/metadata.yml. Without a public URL there are no
links (None), never a link to localhost that a colleague could not open.
"""

from __future__ import annotations

from urllib.parse import quote

DATABASE = "nianbao"


def report_link(public_url: str | None, report_id: int | None) -> str | None:
    if not public_url or report_id is None:
        return None
    return f"{public_url.rstrip('/')}/-/report/{int(report_id)}"


def finding_link(public_url: str | None, finding_id: int | None) -> str | None:
    if not public_url or finding_id is None:
        return None
    return f"{public_url.rstrip('/')}/{DATABASE}/findings/{int(finding_id)}"


def feed_link(public_url: str | None, agency_id: str | None = None) -> str | None:
    if not public_url:
        return None
    base = f"{public_url.rstrip('/')}/{DATABASE}/findings.atom"
    return f"{base}?agency_id={quote(agency_id, safe='')}" if agency_id else base
