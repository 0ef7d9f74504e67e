"""`nianbao reextract`: run today's extraction again on the raw pages the store keeps.

Every fix of extraction changes the text nianbao would make of pages it already stored. Re-
crawling would show each of them as a changed report; this reads the stored raw page of every
report whose text an older extractor made (versions.extractor_version < EXTRACTOR_VERSION) and
records the new text as a re-extraction of the same source (store.history.record_reextraction):
a version with source 'reextract', no finding, no notification, the old versions kept. Dates,
issuer, year and kind are re-read too, and counts_for is decided against the registry.
"""

from __future__ import annotations

from collections import Counter

import click

from nianbao.config.registry import ConfigError, load_registry, resolve_config_path
from nianbao.monitor.cli_options import config_option, db_option, fail_config, resolve_db_path

# How many failures are printed one by one (all are counted).
SHOWN_FAILURES = 20


@click.command()
@config_option
@db_option
@click.option("--agency", "agency_ids", multiple=True, metavar="ID",
              help="Only this agency's reports (repeatable).")
def reextract(config_path, db_path, agency_ids) -> None:
    """Re-extract stored pages with this version's extractor (not a change of any report).

    Reads the raw page kept with the current version of every report an older extractor
    read, and records the new text as a re-extraction: no `changed` finding, no
    notification, history kept. Reports already extracted by this version are left alone.
    """
    # Extraction pulls in lxml, trafilatura and OpenCC: only when the command runs.
    from nianbao.config.issuers import IssuerIndex
    from nianbao.crawler.report_extract import (
        EXTRACTOR_VERSION,
        reextract_stored_files,
        reextraction,
        stored_page,
    )
    from nianbao.storage import AgencyRecord, Store

    agency_ids = list(dict.fromkeys(agency_ids))
    try:
        registry = load_registry(resolve_config_path(config_path))
        registry.select(agency_ids)
    except ConfigError as exc:
        fail_config(exc)
    issuers = IssuerIndex(registry.agencies)
    outcomes: Counter[str] = Counter()
    failures: list[str] = []
    with Store(resolve_db_path(db_path)) as store:
        # counts_for may name any agency of the registry: all of them must be in the store
        store.agencies.sync(AgencyRecord.from_agency(a) for a in registry.agencies)
        rows = store.history.stored_pages(agency_ids or None, older_than=EXTRACTOR_VERSION)
        for row in rows:
            try:
                # the files a page was read with are read again from the store too
                extracted, files = reextract_stored_files(
                    stored_page(row, store.history.raw_page(row["raw_version_id"])),
                    store.attachments.content)
            except Exception as exc:  # one bad page must not stop the others; it is named
                outcomes["failed"] += 1
                failures.append(f"  report {row['report_id']} {row['url']}: {type(exc).__name__}: {exc}"[:300])
                continue
            outcomes[store.history.record_reextraction(reextraction(
                row, extracted, files=files,
                counts_for=issuers.counts_for(row["agency_id"], extracted.issuer)))] += 1
    click.echo(
        f"Extractor {EXTRACTOR_VERSION}: {len(rows)} stored page(s) of older extractors read; "
        f"{outcomes['reextracted']} new text(s) recorded as re-extractions, "
        f"{outcomes['same']} unchanged, {outcomes['stale']} superseded meanwhile, "
        f"{outcomes['failed']} failed."
    )
    for line in failures[:SHOWN_FAILURES]:
        click.echo(line)
    if len(failures) > SHOWN_FAILURES:
        click.echo(f"  ... and {len(failures) - SHOWN_FAILURES} more")
    click.echo(f"Database: {resolve_db_path(db_path)}")
