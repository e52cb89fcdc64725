"""Widgets for lesson: cost."""
__all__ = []
