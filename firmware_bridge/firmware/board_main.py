"""Copied to the board as /main.py: start the firmware at power-up."""

from firmware import app

app.run()
