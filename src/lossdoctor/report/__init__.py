"""Renderers: plain functions of the report document (see document.py)."""
