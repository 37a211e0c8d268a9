"""Pixelopolis: a city of miniature self-driving cars."""

__version__ = "0.1.0"
