"""Widgets for lesson: transfer."""
__all__ = []
