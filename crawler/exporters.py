"""Scrapy's feed exporters (`scrapy crawl reports -O reports.jsonl`) without raw bytes.

The items the crawl hands on (storage.ReportFetch) carry the page exactly as served
(`raw_page`, bytes) for the store; JSON cannot hold bytes (Scrapy's own exporters failed with
`TypeError: Object of type bytes is not JSON serializable` and left an empty file) and a CSV
cell of a GBK page is mojibake. These exporters leave every bytes-valued field out (the
store keeps the raw page: `versions.raw_page`); every other field is exported as Scrapy
would. settings.FEED_EXPORTERS maps the formats to them.
"""

from __future__ import annotations

from typing import Any

from itemadapter import ItemAdapter
from scrapy import exporters

RAW = (bytes, bytearray, memoryview)


class NoBytesMixin:
    def get_serialized_fields(self, item: Any, default_value: Any = None,
                              include_empty: bool | None = None):
        for name, value in super().get_serialized_fields(item, default_value, include_empty):
            if not isinstance(value, RAW):
                yield name, value


class JsonItemExporter(NoBytesMixin, exporters.JsonItemExporter):
    pass


class JsonLinesItemExporter(NoBytesMixin, exporters.JsonLinesItemExporter):
    pass


class XmlItemExporter(NoBytesMixin, exporters.XmlItemExporter):
    pass


class CsvItemExporter(exporters.CsvItemExporter):
    """Columns are fixed by the first item (as Scrapy does): its fields that hold no bytes;
    a bytes value of a later item is an empty cell."""

    def _write_headers_and_set_fields_to_export(self, item: Any) -> None:
        if not self.fields_to_export:
            adapter = ItemAdapter(item)
            self.fields_to_export = [name for name in adapter.field_names()
                                     if not isinstance(adapter.get(name), RAW)]
        super()._write_headers_and_set_fields_to_export(item)

    def serialize_field(self, field, name: str, value: Any) -> Any:
        return "" if isinstance(value, RAW) else super().serialize_field(field, name, value)
