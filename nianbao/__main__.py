"""`python -m nianbao ...` runs the `nianbao` command."""

from nianbao.cli import main

main()
