"""Reflex state classes, one module per face: ids, page-sized rows and form input."""
