"""Shared UI pieces: the page layout, tables, status badges, the map frame and formatting."""
