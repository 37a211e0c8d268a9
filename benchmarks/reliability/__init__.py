"""Reliability drills for the fleet server: load, faults, bad input, and a data-safety check.

Each drill starts its own database and `pixelopolis server` on loopback, drives simulated
stations and cars against it, checks the database afterwards (`consistency.check`) and
prints its figures. Run one with `python -m benchmarks.reliability DRILL` from the repository
root (`--help` lists them); docs/reliability.md says what each checks and what it measured.
"""
