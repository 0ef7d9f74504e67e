"""nianbao's own pages in `nianbao serve`: (path regex, view) pairs for Datasette's register_routes.

Another route is added by appending to ROUTES.
"""

from __future__ import annotations

from nianbao.web.feed import findings_feed_page
from nianbao.web.pages import coverage_page, diff_page, report_page

ROUTES = [
    (r"^/-/coverage$", coverage_page),
    (r"^/-/report/(?P<report_id>[0-9]+)$", report_page),
    # plugin routes come before Datasette's own, so this is not the `findings` table's page
    (r"^/nianbao/findings\.atom$", findings_feed_page),
    (r"^/-/diff/(?P<report_id>[0-9]+)/(?P<v1>[0-9]+)/(?P<v2>[0-9]+)$", diff_page),
]
