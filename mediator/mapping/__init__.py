"""The mapping-file model: loading, validation and compilation of mapping files."""

__all__: list[str] = []
