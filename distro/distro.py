"""The Reflex app: registers the pages and mounts the HTTP API; nothing else."""

import reflex as rx
from reflex.config import get_config

from distro.api import create_api
from distro.pages import (
    admin,
    cash,
    dealer,
    dispatch,
    index,
    kpis,
    login,
    order_desk,
    rider,
    shop,
)
from distro.settings import check_production_settings, get_settings
from distro.state.auth import handle_backend_exception

# Refuse to start in production with every-origin CORS or placeholder secrets.
check_production_settings(get_settings(), list(get_config().cors_allowed_origins))

app = rx.App(api_transformer=create_api(), backend_exception_handler=handle_backend_exception)
index.register(app)
login.register(app)
dispatch.register(app)
kpis.register(app)
admin.register(app)
rider.register(app)
cash.register(app)
dealer.register(app)
order_desk.register(app)
shop.register(app)
