"""The store as a website: `nianbao serve` runs Datasette on it, read-only, with nianbao's pages.

app.py builds the Datasette instance (a read-only connection, nianbao's metadata, the plugin);
plugin.py holds the Datasette hooks; routes.py lists nianbao's own pages (pages.py); document.py
turns a stored text into a readable page. Imports config, storage and monitor, never the
crawler; monitor never imports this package.
"""
