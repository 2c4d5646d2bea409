"""One module per face of the web app."""
