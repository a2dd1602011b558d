"""The web console at `/console`: server-rendered pages (Jinja2, htmx, uPlot) over the same services the
APIs use, acting for the signed-in caller. Authenticated by its own session cookie, never by SigV4."""
