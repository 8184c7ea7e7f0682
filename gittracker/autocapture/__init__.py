"""Autocapture: windows opened, read and closed by the coding agents' own hooks (docs/autocapture.md)."""
