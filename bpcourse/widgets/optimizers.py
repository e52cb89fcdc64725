"""Widgets for lesson: optimizers."""
__all__ = []
