"""How the annotation calls name what they act on: a project by id or resource name, and
anything else by resource name or by the message (or SDK object) that carries it."""

from __future__ import annotations

from typing import Protocol

PROJECTS = "annotationProjects/"


class Named(Protocol):
    """Anything with a resource name: a message, a Task, a project handle."""

    @property
    def name(self) -> str: ...


# A resource given by name or by an object carrying it.
Ref = str | Named


def name_of(item: Ref) -> str:
    """`item` if it is a name, else its `name` (a message, Task or project handle)."""
    return item if isinstance(item, str) else item.name


def project_name(project: Ref) -> str:
    """ "annotationProjects/{id}" for a project id, name or object, or for a name inside
    the project (a task, annotation, job)."""
    name = name_of(project)
    if not name.startswith(PROJECTS):
        return PROJECTS + name
    return "/".join(name.split("/")[:2])


def task_collection(parent: Ref) -> str:
    """The parent of a list of annotations or predictions: a task as it is, a project as
    "annotationProjects/{p}/tasks/-" (every task)."""
    name = name_of(parent)
    if "/tasks/" in name:
        return name
    return project_name(name) + "/tasks/-"
