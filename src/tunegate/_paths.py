"""Where tunegate keeps files: the default store and the model cache.

Shipped data (``tunegate/data/``) is found with :func:`package_data` by every layer that needs it.
``TUNEGATE_HOME`` (default ``./.tunegate``) holds the SQLite store; ``TUNEGATE_CACHE``
(default ``~/.cache/tunegate``) holds converted models and the fingerprint cache, shared across projects.
"""

from __future__ import annotations

from pathlib import Path

from tunegate._settings import env_str

__all__ = ["cache_dir", "default_db_url", "home_dir", "package_data"]


def package_data(*parts: str) -> Path:
    """Path of a data file shipped inside the tunegate package (``tunegate/data/...``)."""
    from importlib.resources import files

    return Path(str(files("tunegate").joinpath("data", *parts)))


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
