"""nianbao's crawler: the Scrapy project (settings, the reports spider, extraction)."""

__version__ = "0.1.0"
