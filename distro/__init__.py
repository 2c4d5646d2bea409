"""Distro: one operations backbone for a manufacturer's dealer network."""

__version__ = "0.1.0"
