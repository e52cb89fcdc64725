"""Checks for lesson 03."""
__all__ = []
