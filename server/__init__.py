"""Fleet server: books cars for stations and routes them over the city map."""

from server.app import create_app
from server.config import ServerConfig

__all__ = ["ServerConfig", "create_app"]
