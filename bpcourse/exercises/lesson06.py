"""Checks for lesson 06."""
__all__ = []
