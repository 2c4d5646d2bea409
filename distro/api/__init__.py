"""The embedded HTTP API, served under /api/v1 by the same server as the web app."""

from distro.api.app import API_PREFIX, create_api

__all__ = ["API_PREFIX", "create_api"]
