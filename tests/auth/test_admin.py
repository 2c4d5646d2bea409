"""Admin master-data changes: role check, the change itself and its event."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from distro.backbone import admin
from distro.backbone.actors import Actor
from distro.backbone.errors import PermissionDeniedError, ValidationError
from distro.backbone.models import Dealer, Event, Role
from tests.auth.conftest import People

ADMIN = Actor(username="root-admin", role=Role.ADMIN)
MANAGER = Actor(username="boss", role=Role.MANAGER)


def test_update_dealer_terms_records_event(engine, people: People):
    dealer_id = people.network.dealer_ids[0]
    with Session(engine) as session:
        admin.update_dealer_terms(
            session, ADMIN, dealer_id, credit_limit_cents=123_400, territory="North"
        )
        session.commit()
    with Session(engine) as session:
        dealer = session.get(Dealer, dealer_id)
        event = session.exec(select(Event).where(Event.event_type == "dealer_terms_changed")).one()
    assert dealer.credit_limit_cents == 123_400
    assert dealer.territory == "North"
    assert event.payload["after"]["credit_limit_cents"] == 123_400
    assert event.actor == "root-admin"


def test_update_dealer_terms_requires_admin(engine, people: People):
    with Session(engine) as session, pytest.raises(PermissionDeniedError):
        admin.update_dealer_terms(
            session, MANAGER, people.network.dealer_ids[0], credit_limit_cents=1
        )


def test_update_dealer_terms_rejects_negative_limit(engine, people: People):
    with Session(engine) as session, pytest.raises(ValidationError):
        admin.update_dealer_terms(
            session, ADMIN, people.network.dealer_ids[0], credit_limit_cents=-1
        )


def test_set_tier_price_updates_existing(engine, people: People):
    product_id = people.network.product_ids["SKU-1"]
    with Session(engine) as session:
        price = admin.set_tier_price(session, ADMIN, people.network.tier_id, product_id, 1234)
        session.commit()
        assert price.unit_price_cents == 1234
