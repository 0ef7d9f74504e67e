"""nianbao's crawler: the Scrapy project (settings, the reports spider, extraction)."""
