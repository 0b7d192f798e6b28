"""YAML loading with source positions (mediator.mapping.yamlsource)."""

from __future__ import annotations

import textwrap

import pytest

from mediator.mapping.yamlsource import SourceMap, YamlLoadError, load_yaml


def _load(text: str):
    return load_yaml(textwrap.dedent(text), "m.yaml")


def test_data_and_file_are_kept():
    """The parsed data and the file name come back on the YamlSource."""
    source = _load(
        """\
        version: 1
        routes:
          - get: /a
        """
    )
    assert source.file == "m.yaml"
    assert source.data == {"version": 1, "routes": [{"get": "/a"}]}


def test_key_positions_are_one_based_line_and_column():
    """Each key's position is its 1-based line and column."""
    source = _load(
        """\
        version: 1
        service:
          wsdl: orders.wsdl
        """
    )
    assert source.positions.key(("version",)) == (1, 1)
    assert source.positions.key(("service",)) == (2, 1)
    assert source.positions.key(("service", "wsdl")) == (3, 3)


def test_value_positions_point_at_the_value():
    """A value's position is where the value itself starts, not its key."""
    source = _load(
        """\
        service:
          wsdl:   orders.wsdl
        """
    )
    assert source.positions.value(("service", "wsdl")) == (2, 11)
    assert source.positions.value(()) == (1, 1)


def test_sequence_items_are_positioned_by_index():
    """Sequence items are addressed by integer index in the key path."""
    source = _load(
        """\
        routes:
          - get: /a
          - post: /b
            operation: X
        """
    )
    assert source.positions.key(("routes", 1)) == (3, 5)
    assert source.positions.key(("routes", 1, "operation")) == (4, 5)
    assert source.positions.value(("routes", 1, "operation")) == (4, 16)


def test_block_scalar_value_points_at_its_first_content_line():
    """A literal block scalar's value position is its first content line, column 1."""
    source = _load(
        """\
        request:
          body: |
            <a>
              <b/>
            </a>
        """
    )
    assert source.data["request"]["body"] == "<a>\n  <b/>\n</a>\n"
    assert source.positions.value(("request", "body")) == (3, 1)
    assert source.positions.key(("request", "body")) == (2, 3)


def test_unknown_path_falls_back_to_nearest_ancestor():
    """A path without its own position reports its nearest positioned ancestor."""
    source = _load(
        """\
        a:
          b: 1
        """
    )
    assert source.positions.key(("a", "b", "c", 0)) == (2, 3)
    assert source.positions.value(("a", "zzz")) == (2, 3)


def test_empty_source_map_defaults_to_line_one():
    """An empty source map places every path at 1:1."""
    assert SourceMap().key(("x", 1)) == (1, 1)
    assert SourceMap().value(()) == (1, 1)


def test_yes_no_on_off_and_dates_stay_strings():
    """Only true/false are booleans; YAML 1.1 yes/no/on/off and dates stay strings."""
    source = _load(
        """\
        a: yes
        b: no
        c: on
        d: off
        e: 2024-01-31
        f: true
        g: False
        h: 1.5
        i: null
        j: 12
        """
    )
    assert source.data == {
        "a": "yes",
        "b": "no",
        "c": "on",
        "d": "off",
        "e": "2024-01-31",
        "f": True,
        "g": False,
        "h": 1.5,
        "i": None,
        "j": 12,
    }


def test_empty_document_is_none():
    """An empty document parses to None with an empty source map."""
    source = load_yaml("", "m.yaml")
    assert source.data is None
    assert source.positions.keys == {}


def test_duplicate_key_is_rejected_at_the_second_key():
    """A key repeated in one mapping is an error located at its second occurrence."""
    with pytest.raises(YamlLoadError) as info:
        _load(
            """\
            a: 1
            b:
              c: 1
              c: 2
            """
        )
    assert (info.value.message, info.value.line, info.value.column) == ("duplicate key 'c'", 4, 3)


def test_same_key_in_different_mappings_is_allowed():
    """The same key under two different parents is not a duplicate."""
    source = _load(
        """\
        a: {x: 1}
        b: {x: 2}
        """
    )
    assert source.data == {"a": {"x": 1}, "b": {"x": 2}}


def test_syntax_error_has_line_and_column():
    """A YAML syntax error is reported as invalid YAML with the problem's position."""
    with pytest.raises(YamlLoadError) as info:
        _load(
            """\
            a: [1, 2
            b: 3
            """
        )
    assert info.value.message == "invalid YAML: expected ',' or ']', but got ':'"
    assert (info.value.line, info.value.column) == (2, 2)


def test_several_documents_are_rejected():
    """A file holding more than one YAML document is invalid."""
    with pytest.raises(YamlLoadError) as info:
        load_yaml("a: 1\n---\nb: 2\n", "m.yaml")
    assert info.value.message == "invalid YAML: but found another document"
    assert info.value.line == 2


def test_complex_keys_are_rejected():
    """A key that is not a plain scalar is an error at the key."""
    with pytest.raises(YamlLoadError) as info:
        load_yaml("? [a, b]\n: c\n", "m.yaml")
    assert (info.value.message, info.value.line, info.value.column) == (
        "keys must be plain strings",
        1,
        3,
    )


def test_alias_bomb_is_rejected():
    """Aliases expanding beyond the node budget (a billion-laughs YAML) are rejected."""
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(YamlLoadError) as info:
        load_yaml("\n".join(lines) + "\n", "bomb.yaml")
    assert info.value.message == "document too large (too many nodes, or an alias bomb)"


def test_small_aliases_are_expanded():
    """A modest alias is expanded into an independent copy of the data."""
    source = load_yaml("a: &x {k: 1}\nb: *x\n", "m.yaml")
    assert source.data == {"a": {"k": 1}, "b": {"k": 1}}


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a: !custom foo\n", 1, 4),
        ("a: 1\nb: !!python/name:os.system ''\n", 2, 4),
        ("a: !!int abc\n", 1, 4),
    ],
)
def test_unsupported_scalar_tags_are_load_errors(text, line, column):
    """A scalar with a tag the safe loader cannot construct is a positioned YamlLoadError."""
    with pytest.raises(YamlLoadError) as info:
        load_yaml(text, "m.yaml")
    assert info.value.message.startswith("invalid YAML: ")
    assert (info.value.line, info.value.column) == (line, column)


def test_merge_keys_are_a_load_error():
    """A YAML merge key (<<) is not supported and is reported at its position."""
    with pytest.raises(YamlLoadError) as info:
        load_yaml("base: &b {x: 1}\nd:\n  <<: *b\n  y: 2\n", "m.yaml")
    assert info.value.message.startswith("invalid YAML: ")
    assert (info.value.line, info.value.column) == (3, 3)
