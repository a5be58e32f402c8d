"""Which template files there are: the template folder's, then the shipped ones, per language.

A template ``X`` is its files at the root of a folder (English, the fallback of every
language) and, per language, in a folder named by its tag: ``fr/X.html``, ``fr-CA/X.html``.
A configuration is checked against them at start and by ``relance check-config``, so a
scenario that names a template nobody wrote fails there, not at send time as a
``render_failure``; and so does a language folder that has some of a template's files but
not all (its French email would go out with an English subject). Nothing is rendered here
(and jinja2 is not imported): only names.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Final

from relance.errors import ConfigError, ConfigProblem
from relance.locales import normalized

SHIPPED_TEMPLATES: Final = Path(__file__).parent / "templates"
# The files a template ``X`` needs, per channel: ``X.subject.txt``, ``X.html``, ``X.txt``.
PARTS: Final[dict[str, tuple[str, ...]]] = {
    "email": ("subject.txt", "html", "txt"),
    "sms": ("sms.txt",),
}
# The file whose language is the message's: the body, for each channel.
MAIN_PART: Final = {"email": "html", "sms": "sms.txt"}


class TemplateFiles:
    """The template files of ``folder`` (searched first, as the renderer does) and the
    shipped ones; ``missing`` is the lookup ``scenario_file.load_config`` takes."""

    def __init__(self, folder: Path | None = None) -> None:
        self.folders = (SHIPPED_TEMPLATES,) if folder is None else (folder, SHIPPED_TEMPLATES)
        self.where = (
            "the shipped templates"
            if folder is None
            else f"the template folder {folder} nor the shipped templates"
        )

    @cached_property
    def languages(self) -> tuple[str, ...]:
        """The language folders of every folder (``fr``, ``fr-CA``), sorted."""
        return tuple(
            sorted(
                {
                    path.name
                    for folder in self.folders
                    if folder.is_dir()
                    for path in folder.iterdir()
                    if path.is_dir() and normalized(path.name) == path.name
                }
            )
        )

    def folders_at(self, level: str) -> list[Path]:
        """The folders of one level of a fallback chain (``""``: the roots), first wins."""
        return [
            folder / level if level else folder
            for folder in self.folders
            if (folder / level).is_dir()
        ]

    def has(self, level: str, name: str) -> bool:
        return any((folder / name).is_file() for folder in self.folders_at(level))

    def found_at(self, chain: tuple[str, ...], name: str) -> str | None:
        """The first level of ``chain`` that has the file ``name``."""
        return next((level for level in chain if self.has(level, name)), None)

    def missing(self, template: str, channel: str) -> list[str]:
        """The files ``template`` lacks for ``channel``, in the order the renderer reads:
        at the root, and in each language folder that has some of them."""
        names = [f"{template}.{part}" for part in PARTS[channel]]
        lacking = [name for name in names if not self.has("", name)]
        for language in self.languages:
            present = [name for name in names if self.has(language, name)]
            if present and len(present) < len(names):
                lacking += [f"{language}/{name}" for name in names if name not in present]
        return lacking


def template_files(folder: Path | None, named_by: str) -> TemplateFiles:
    """The lookup over ``folder``, which must be a folder (``named_by``: the setting or
    option that names it, for the error)."""
    if folder is not None and not folder.is_dir():
        raise ConfigError([ConfigProblem(named_by, None, None, f"{folder} is not a folder")])
    return TemplateFiles(folder)
