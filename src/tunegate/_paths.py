"""Where tunegate keeps files: the default store and the model cache.

``TUNEGATE_HOME`` (default ``./.tunegate``) holds the SQLite store; ``TUNEGATE_CACHE``
(default ``~/.cache/tunegate``) holds converted models and the fingerprint cache, shared across projects.
"""

from __future__ import annotations

from pathlib import Path

from tunegate._settings import env_str

__all__ = ["cache_dir", "default_db_url", "home_dir"]


def home_dir() -> Path:
    """Project-local state folder (created on demand)."""
    return Path(env_str("TUNEGATE_HOME") or ".tunegate")


def cache_dir() -> Path:
    """User-wide cache folder (created on demand)."""
    default = Path.home() / ".cache" / "tunegate"
    path = Path(env_str("TUNEGATE_CACHE") or default)
    path.mkdir(parents=True, exist_ok=True)
    return path


def default_db_url() -> str:
    """The default store: a SQLite file under the project's state folder, or ``TUNEGATE_DB``."""
    env = env_str("TUNEGATE_DB")
    if env:
        return env
    home = home_dir()
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    return f"sqlite:///{(home / 'tunegate.db').resolve()}"
