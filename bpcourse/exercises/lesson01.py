"""Checks for lesson 01."""
__all__ = []
