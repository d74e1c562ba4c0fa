"""Small readings of Python syntax trees shared by the checks that read application code."""

from __future__ import annotations

import ast


def attribute_chain(node: ast.AST) -> list[str]:
    """`mistralai.client.Mistral` → ['mistralai', 'client', 'Mistral']; [] when not rooted at a plain name."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return []
