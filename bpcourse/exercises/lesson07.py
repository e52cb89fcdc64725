"""Checks for lesson 07."""
__all__ = []
