"""The car runtime: camera sources, perception, localization, planner, motors, stream."""
