"""Checks for lesson 02."""
__all__ = []
