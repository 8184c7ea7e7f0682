"""git-tracker: AI coding-assistant capacity versus finished work, recorded inside git."""

__version__ = "0.1.0"
