"""Fixed word lists and the product catalog of the demo network.

The demo manufacturer is a beverage producer in the Ruhr area. Weights are gross weights of one
sales unit (a case, tray, keg or canister) as loaded on a vehicle, rounded to 0.1 kg.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DemoProduct:
    """One catalog entry: price is the bronze (list) price in cents."""

    name: str
    unit: str
    weight_kg: float
    list_price_cents: int
    pack_size: int = 1
    min_order_qty: int = 1


MANUFACTURER = "Emscher Beverages"

DEPOT_CITY = "Dortmund"
DEPOT_COUNTRY = "DE"
DEPOT_ADDRESS = "Westfalendamm 240, 44141 Dortmund"

PRODUCTS: tuple[DemoProduct, ...] = (
    DemoProduct("Mineral water still 0.5 L PET, case of 24", "case", 13.0, 799),
    DemoProduct("Mineral water sparkling 0.5 L PET, case of 24", "case", 13.0, 799),
    DemoProduct("Mineral water medium 0.5 L PET, case of 24", "case", 13.0, 799),
    DemoProduct("Mineral water still 1.5 L PET, pack of 6", "pack", 9.5, 449),
    DemoProduct("Mineral water sparkling 1.5 L PET, pack of 6", "pack", 9.5, 449),
    DemoProduct("Mineral water still 0.75 L glass, crate of 12", "crate", 16.5, 1099),
    DemoProduct("Mineral water sparkling 0.75 L glass, crate of 12", "crate", 16.5, 1099),
    DemoProduct("Mineral water sparkling 0.25 L glass, crate of 24", "crate", 14.0, 1299),
    DemoProduct("Apple juice 1 L carton, pack of 6", "pack", 6.4, 899),
    DemoProduct("Orange juice 1 L carton, pack of 6", "pack", 6.4, 999),
    DemoProduct("Multivitamin juice 1 L carton, pack of 6", "pack", 6.4, 999),
    DemoProduct("Apple spritzer 0.5 L PET, case of 24", "case", 13.2, 1199),
    DemoProduct("Apple juice 0.2 L glass, crate of 24", "crate", 10.5, 1399),
    DemoProduct("Orange juice 0.2 L glass, crate of 24", "crate", 10.5, 1499),
    DemoProduct("Cola 0.33 L can, tray of 24", "tray", 8.6, 1299),
    DemoProduct("Cola zero 0.33 L can, tray of 24", "tray", 8.6, 1299),
    DemoProduct("Orange soda 0.33 L can, tray of 24", "tray", 8.6, 1199),
    DemoProduct("Lemon soda 0.33 L can, tray of 24", "tray", 8.6, 1199),
    DemoProduct("Cola 1 L PET, case of 12", "case", 12.8, 1099),
    DemoProduct("Orange soda 1 L PET, case of 12", "case", 12.8, 999),
    DemoProduct("Ginger ale 0.2 L glass, crate of 24", "crate", 10.8, 1499),
    DemoProduct("Tonic water 0.2 L glass, crate of 24", "crate", 10.8, 1499),
    DemoProduct("Iced tea peach 0.5 L PET, case of 12", "case", 6.6, 899),
    DemoProduct("Iced tea lemon 0.5 L PET, case of 12", "case", 6.6, 899),
    DemoProduct("Energy drink 0.25 L can, tray of 24", "tray", 6.7, 2199),
    DemoProduct("Isotonic drink 0.5 L PET, case of 12", "case", 6.7, 1299),
    DemoProduct("Malt drink non-alcoholic 0.33 L glass, crate of 24", "crate", 14.6, 1599),
    DemoProduct("Shandy 0.5 L can, tray of 24", "tray", 12.9, 1899),
    DemoProduct("Soda keg cola 20 L", "keg", 26.0, 4499, min_order_qty=2),
    DemoProduct("Soda keg lemon 20 L", "keg", 26.0, 4299, min_order_qty=2),
    DemoProduct("Syrup cola 5 L canister", "canister", 6.2, 2899, pack_size=2),
    DemoProduct("Syrup orange 5 L canister", "canister", 6.2, 2699, pack_size=2),
    DemoProduct("Water cooler bottle 18.9 L", "bottle", 20.0, 899),
    DemoProduct("CO2 cartridge 425 g, box of 6", "box", 3.4, 3599, pack_size=2),
    DemoProduct(
        "Drinking straws paper, box of 500", "box", 1.2, 1299, pack_size=5, min_order_qty=5
    ),
    DemoProduct("Paper cups 0.3 L, carton of 1000", "carton", 5.6, 3299),
)
"""Thirty-six products; the order generator prefers the first 28 (the bulk drinks)."""

# Tier code, display name and the fraction of the list price that the tier pays.
TIERS: tuple[tuple[str, str, float], ...] = (
    ("gold", "Gold", 0.88),
    ("silver", "Silver", 0.94),
    ("bronze", "Bronze", 1.00),
)

# Credit limit per tier in cents; a dealer's limit is this times a factor of 1 to 3.
CREDIT_LIMIT_CENTS = {"gold": 2_500_000, "silver": 1_200_000, "bronze": 600_000}

TRADE_WORDS = (
    "Beverages",
    "Drinks Market",
    "Wholesale",
    "Cash & Carry",
    "Kiosk Supply",
    "Trading",
    "Gastro Service",
    "Drinks Depot",
)

STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Kirchstraße",
    "Schulstraße",
    "Gartenstraße",
    "Industriestraße",
    "Hafenstraße",
    "Marktplatz",
    "Mühlenweg",
    "Ringstraße",
    "Lindenallee",
    "Zechenstraße",
    "Am Kanal",
    "Westfalenstraße",
    "Rheinische Straße",
    "Gewerbepark",
)

FIRST_NAMES = (
    "Anna",
    "Ben",
    "Clara",
    "David",
    "Elif",
    "Felix",
    "Greta",
    "Hakan",
    "Ida",
    "Jonas",
    "Katharina",
    "Lukas",
    "Marie",
    "Niklas",
    "Olga",
    "Paul",
    "Rana",
    "Sven",
    "Tanja",
    "Uwe",
    "Vera",
    "Yusuf",
    "Zoe",
    "Mehmet",
    "Laura",
    "Tim",
)

LAST_NAMES = (
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Schulz",
    "Hoffmann",
    "Koch",
    "Richter",
    "Klein",
    "Wolf",
    "Yilmaz",
    "Kaya",
    "Nowak",
    "Kowalski",
    "Schröder",
    "Neumann",
    "Schwarz",
    "Zimmermann",
    "Braun",
    "Krüger",
)

# (name, capacity_kg, capacity_units, cost_per_km_cents, cost_per_day_cents, shift start, end)
VEHICLE_TYPES = {
    "truck": ("Truck 7.5 t", 2000, 300, 45, 18000, 7 * 60, 17 * 60),
    "van": ("Van 3.5 t", 800, 120, 30, 12000, 8 * 60, 18 * 60),
    "motorbike": ("Cargo motorbike", 60, 20, 10, 6000, 9 * 60, 17 * 60),
}

# Receiving hours a dealer can have, as (open, close) minutes after midnight.
RECEIVING_HOURS = (
    (7 * 60, 16 * 60),
    (8 * 60, 17 * 60),
    (8 * 60, 18 * 60),
    (9 * 60, 17 * 60),
    (7 * 60 + 30, 15 * 60 + 30),
    (10 * 60, 18 * 60),
)
