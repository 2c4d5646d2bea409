"""Business rules of Distro. Imports no Reflex and no FastAPI."""
