"""Safe YAML for user files: PyYAML's safe loader, plus a bound on what aliases expand to.

An alias bomb (``a: &a [x, x, ...]``, ``b: &b [*a, *a, ...]``, ...) is a few hundred bytes that
expand to billions of nodes once anything walks the data. The document's node graph is measured as
the tree it expands to, before anything is built from it; past ``MAX_NODES`` or on a recursive alias
the file is refused.
"""

from __future__ import annotations

from typing import Any

import yaml

from tunegate.errors import SuiteError

__all__ = ["MAX_NODES", "load_yaml"]

#: nodes the document may expand to, counting every use of an alias as a copy
MAX_NODES = 100_000


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _expanded_size(root: yaml.Node, source: str) -> int:
    """Nodes of the tree ``root`` expands to (shared nodes counted once per use); raises past the bound."""
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        if done:
            on_path.discard(key)
            size = 1 + sum(sizes[id(c)] for c in _children(node))
            if size > MAX_NODES:
                raise SuiteError(
                    f"{source}: YAML aliases expand to more than {MAX_NODES} nodes; "
                    "write the repeated parts out or use fewer aliases"
                )
            sizes[key] = size
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise SuiteError(f"{source}: a YAML alias refers to itself (a recursive structure)")
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in _children(node) if id(c) not in sizes)
    return sizes[id(root)]


def load_yaml(text: str, source: str) -> Any:
    """Parse one YAML document safely; SuiteError (file, line, column) when it is malformed or a bomb."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _expanded_size(node, source)
        return loader.construct_document(node)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SuiteError(f"{source}: not valid YAML{at}: {getattr(e, 'problem', None) or e}") from None
    finally:
        loader.dispose()
