"""Build AWS Lambda layers, a slim function zip and a manifest from a hatch project."""

__version__ = "0.1.0"
