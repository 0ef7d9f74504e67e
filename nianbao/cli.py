"""The `nianbao` command: one click group; each command lives in its own module.

Commands are imported here and nowhere else, so they never import this module back.
"""

from __future__ import annotations

import click

from nianbao import __version__
from nianbao.demo.cli import demo
from nianbao.monitor.check_cmd import check
from nianbao.monitor.crawl_cmd import crawl
from nianbao.monitor.daemon_cmd import daemon, notify, status
from nianbao.monitor.diff_cmd import diff
from nianbao.monitor.extract_cmd import extract
from nianbao.monitor.reextract_cmd import reextract
from nianbao.monitor.stats_cmd import stats
from nianbao.web.serve_cmd import serve
from nianbao.monitor.registry_cmd import registry
from nianbao.monitor.report_cmd import report


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nianbao")
def main() -> None:
    """nianbao: monitor Chinese government annual reports on open government information."""


for command in (crawl, check, daemon, status, notify, extract, reextract, stats, diff, serve,
                report, demo, registry):
    main.add_command(command)

if __name__ == "__main__":
    main()
