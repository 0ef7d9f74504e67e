"""The spider's part of documents: fetch a report page's attachments before handing it on.

A mixin of ReportsSpider. After a report page (and every part of a split article) has been
fetched, each document link of the page (crawler.extract.attachment_links, at most
NIANBAO_MAX_ATTACHMENTS) is fetched in turn, and the last hands on the page with its files.
Every request carries the agency, so OriginGuardMiddleware refuses a file on a host outside
the agency's sources and `domains` and logs why in fetch_log (purpose 'attachment'); a file
that could not be fetched is named in `ReportPage.missing_files` and the page goes on without
it (the pipeline decides whether the report can be recorded without it).
"""

from __future__ import annotations

from dataclasses import replace

import scrapy
from scrapy.exceptions import IgnoreRequest

from nianbao.crawler.extract import attachment_links
from nianbao.crawler.items import FetchedFile, ReportPage
from nianbao.crawler.middlewares import FETCH_LOG_ID_KEY
from nianbao.crawler.store_access import store_for
from nianbao.storage.models import PURPOSE_ATTACHMENT

from .sniff import is_document_response

DEFAULT_MAX_ATTACHMENTS = 10


def _short(text, limit: int = 300) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + "…"


class AttachmentFollowing:
    """Mixin: `with_attachments(page)` is the page or the request for its first file."""

    def with_attachments(self, page: ReportPage):
        if page.html is None:
            return page
        links: list[str] = []
        for html in (page.html, *page.more_parts):
            try:
                found = attachment_links(html, page.final_url)
            except Exception as exc:  # noqa: BLE001 - a page no parser reads (binary garbage
                # served as HTML) links nothing we could find; the pipeline judges the page
                self.logger.info("%s: no attachment links read (%s)", _short(page.url),
                                 _short(f"{type(exc).__name__}: {exc}"))
                continue
            links.extend(link for link in found if link not in links)
        cap = self.crawler.settings.getint("NIANBAO_MAX_ATTACHMENTS", DEFAULT_MAX_ATTACHMENTS)
        if len(links) > cap:
            self.logger.info("%s links %d documents; only the first %d are read (NIANBAO_MAX_ATTACHMENTS)",
                             _short(page.url), len(links), cap)
            links = links[:cap]
        return self._attachment_request(page, links) if links else page

    def _attachment_request(self, page: ReportPage, remaining: list[str]):
        return scrapy.Request(
            remaining[0],
            dont_filter=True,  # two reports may link one file; each needs it
            callback=self.parse_attachment,
            errback=self.attachment_failed,
            cb_kwargs={"page": page, "remaining": remaining[1:]},
            meta={"agency_id": page.agency_id, "purpose": PURPOSE_ATTACHMENT},
        )

    def _go_on(self, page: ReportPage, remaining: list[str]):
        return self._attachment_request(page, remaining) if remaining else page

    def parse_attachment(self, response, page: ReportPage, remaining: list[str]):
        url = response.request.meta.get("redirect_urls", [response.url])[0]
        content_type = (response.headers.get(b"Content-Type") or b"").decode("latin-1")
        if not is_document_response(response.body, content_type, response.url):
            # a download page, a login or an error page where the file should be
            reason = f"not a document: {content_type or 'no Content-Type'} at {_short(response.url)}"
            self._attachment_note(response.request, reason)
            page = replace(page, missing_files=(*page.missing_files, (url, reason)))
        else:
            page = replace(page, files=(*page.files, FetchedFile(url, response.url, response.body, content_type)))
        yield self._go_on(page, remaining)

    def attachment_failed(self, failure):
        request = failure.request
        page, remaining = request.cb_kwargs["page"], request.cb_kwargs["remaining"]
        reason = _short(failure.getErrorMessage())
        if failure.check(IgnoreRequest):
            # robots.txt or the origin guard (its fetch_log row says which host): a file on a
            # host the agency does not list is skipped until the host is added to `domains`
            self.crawler.stats.inc_value("nianbao/attachments/skipped")
            hint = ("; add its host to the agency's domains to read it"
                    if "offsite" in reason or "configured origin" in reason else "")
            self.logger.warning("Attachment of %s not fetched: %s (%s)%s", _short(page.url),
                                _short(request.url), reason, hint)
        else:
            self.crawler.stats.inc_value("nianbao/attachments/failed")
            self.logger.warning("Attachment failed: %s (%s)", _short(request.url), reason)
        page = replace(page, missing_files=(*page.missing_files, (request.url, reason)))
        yield self._go_on(page, remaining)

    def _attachment_note(self, request, reason: str) -> None:
        fetch_id = request.meta.get(FETCH_LOG_ID_KEY)
        if fetch_id is not None:
            store_for(self.crawler).crawls.fail_fetch(fetch_id, reason)
        self.logger.warning("%s: %s", _short(request.url), reason)
