"""CLI command module (filled in by its feature)."""
