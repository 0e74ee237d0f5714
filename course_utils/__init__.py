"""Helpers shared by the course notebooks: data, training, plots and recorded results."""

__version__ = "0.1.0"
