"""Widgets for lesson: losses."""
__all__ = []
