"""The station web app: a visitor books a car and watches its trip; operators manage cars.

`create_app(StationConfig(server_url=…, fleet_key=…))` registers the station with the
fleet server and returns the Flask app; `pixelopolis station` serves it. See docs/station.md.
"""

from station.app import create_app
from station.config import StationConfig, StationConfigError
from station.fleet import FleetError, StationIdentity, register_station

__all__ = [
    "FleetError",
    "StationConfig",
    "StationConfigError",
    "StationIdentity",
    "create_app",
    "register_station",
]
