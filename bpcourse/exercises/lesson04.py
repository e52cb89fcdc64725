"""Checks for lesson 04."""
__all__ = []
