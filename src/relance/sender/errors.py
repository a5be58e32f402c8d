"""Errors of turning a send command into an email (rendering and message building).

RelanceError
 ├── RenderError    a template is missing or failed to render (names the template)
 └── MessageError   a rendered email cannot become a message (e.g. no recipient address)
"""

from __future__ import annotations

from relance.errors import RelanceError


class RenderError(RelanceError):
    """A template is missing or raised while rendering; ``template`` names the file."""

    def __init__(self, template: str, problem: str) -> None:
        self.template = template
        self.problem = problem
        super().__init__(f"template {template!r}: {problem}")


class MessageError(RelanceError):
    """A send command that cannot become an email message (``command_id`` says which)."""

    def __init__(self, command_id: str | None, problem: str) -> None:
        self.command_id = command_id
        self.problem = problem
        super().__init__(f"command {command_id}: {problem}")
