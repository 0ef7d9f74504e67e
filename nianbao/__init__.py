"""nianbao 年报: a monitor of Chinese government annual reports on open government information.

The code lives in the folders at the repository root and imports only under this package:
`nianbao.config`, `nianbao.storage`, `nianbao.crawler`, `nianbao.monitor`, `nianbao.demo`,
`nianbao.bench` (pyproject.toml maps each folder to its name). This module stays free of
imports, so `import nianbao` never loads Scrapy or Twisted (the daemon must not).
"""

__version__ = "0.1.0"
