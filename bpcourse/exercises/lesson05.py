"""Checks for lesson 05."""
__all__ = []
