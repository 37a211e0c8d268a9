"""The simulator: renderer, dynamics, expert driver, dataset generators, evaluation."""
