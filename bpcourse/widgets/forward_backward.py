"""Widgets for lesson: forward_backward."""
__all__ = []
