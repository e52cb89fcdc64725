"""Widgets for lesson: chain_rule."""
__all__ = []
