"""Widgets for lesson: gradients."""
__all__ = []
