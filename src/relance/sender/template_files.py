"""Which template files there are: the template folder's, then the shipped ones.

A configuration is checked against them at start and by ``relance check-config``, so a
scenario that names a template nobody wrote fails there, not at send time as a
``render_failure``. Nothing is rendered here (and jinja2 is not imported): only names.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from relance.errors import ConfigError, ConfigProblem

SHIPPED_TEMPLATES: Final = Path(__file__).parent / "templates"
# The files a template ``X`` needs, per channel: ``X.subject.txt``, ``X.html``, ``X.txt``.
PARTS: Final[dict[str, tuple[str, ...]]] = {"email": ("subject.txt", "html", "txt"),
                                            "sms": ("sms.txt",)}


class TemplateFiles:
    """The template files of ``folder`` (searched first, as the renderer does) and the
    shipped ones; ``missing`` is the lookup ``scenario_file.load_config`` takes."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folders = (SHIPPED_TEMPLATES,) if folder is None else (folder, SHIPPED_TEMPLATES)
        self.where = ("the shipped templates" if folder is None
                      else f"the template folder {folder} nor the shipped templates")

    def missing(self, template: str, channel: str) -> list[str]:
        """The files ``template`` lacks for ``channel``, in the order the renderer reads."""
        names = [f"{template}.{part}" for part in PARTS[channel]]
        return [name for name in names
                if not any((folder / name).is_file() for folder in self.folders)]


def template_files(folder: Path | None, named_by: str) -> TemplateFiles:
    """The lookup over ``folder``, which must be a folder (``named_by``: the setting or
    option that names it, for the error)."""
    if folder is not None and not folder.is_dir():
        raise ConfigError([ConfigProblem(named_by, None, None, f"{folder} is not a folder")])
    return TemplateFiles(folder)
