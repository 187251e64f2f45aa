"""coldstart: cold-start active-learning selection, training and comparison."""

__version__ = "0.1.0"
