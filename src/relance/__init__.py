"""relance: Kafka-native trigger marketing for online shops."""

from importlib.metadata import PackageNotFoundError, version

try:
    # The installed distribution's, so that pyproject.toml holds the one number.
    __version__ = version("relance")
except PackageNotFoundError:  # the source tree on sys.path without an install
    __version__ = "0+unknown"
