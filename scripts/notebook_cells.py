"""The two cell constructors every notebook generator uses."""

from nbformat.v4 import new_code_cell, new_markdown_cell


def md(text: str):
    """A markdown cell (leading/trailing blank lines removed)."""
    return new_markdown_cell(text.strip("\n"))


def code(text: str):
    """A code cell (leading/trailing blank lines removed)."""
    return new_code_cell(text.strip("\n"))
