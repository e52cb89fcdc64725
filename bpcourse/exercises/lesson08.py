"""Checks for lesson 08."""
__all__ = []
