"""Widgets for lesson: regularization."""
__all__ = []
