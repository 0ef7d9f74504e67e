"""nianbao's own pages in `nianbao serve`: (path regex, view) pairs for Datasette's register_routes.

Another route (e.g. an Atom feed of findings) is added by appending to ROUTES.
"""

from __future__ import annotations

from nianbao.web.pages import coverage_page, diff_page, report_page

ROUTES = [
    (r"^/-/coverage$", coverage_page),
    (r"^/-/report/(?P<report_id>[0-9]+)$", report_page),
    (r"^/-/diff/(?P<report_id>[0-9]+)/(?P<v1>[0-9]+)/(?P<v2>[0-9]+)$", diff_page),
]
