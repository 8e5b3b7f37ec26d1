"""What a mutant is, and the ways a mutation patches the reference server (or agent) in place."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lepton_server.runtime import host


@dataclass(frozen=True)
class Mutant:
    """One broken server: what it breaks, how, and the cases that must catch it."""

    breaks: str
    apply: Callable[[], None]
    caught_by: frozenset[str]
    # Profiles it must pass although it breaks a stricter one: a Lepton addition broken is
    # still the Open Inference Protocol kept (spec/inference.md §11).
    passes: tuple[str, ...] = ()
    # A mutated `lepton agent`, run by the edge-agent harness, rather than `lepton serve`.
    agent: bool = False
    # More `lepton serve` arguments: `--workers 2` for a mutation of how processes agree.
    server_args: tuple[str, ...] = ()

    @property
    def profiles(self) -> list[str]:
        """The profiles it faces: the general profile (a server's; an agent faces none), those
        of the cases that catch it and those it must pass. A mutation patches one layer's
        code, so the other layers' profiles would only repeat the reference server's run at
        the cost of minutes."""
        caught = {case.split(".", 1)[0] for case in self.caught_by}
        return sorted({*(() if self.agent else ("general",)), *caught, *self.passes})


def after_start(action: Callable[[host.RunningServer], object]) -> Callable[[], None]:
    """A mutation that runs `action` (a coroutine function) once the host has started."""

    def apply() -> None:
        original = host.ServerHost.start

        async def start(self: host.ServerHost) -> host.RunningServer:
            running = await original(self)
            await action(running)
            return running

        host.ServerHost.start = start

    return apply


def set_attribute(owner: object, name: str, value: object) -> Callable[[], None]:
    return lambda: setattr(owner, name, value)


def replace(owner: object, name: str, make: Callable[[Callable], Callable]) -> Callable[[], None]:
    """A mutation that wraps `owner.name` with `make(original)`."""
    return lambda: setattr(owner, name, make(getattr(owner, name)))


def set_item(mapping: dict, key: str, make: Callable[[Callable], Callable]) -> Callable[[], None]:
    """A mutation that wraps `mapping[key]` with `make(original)`."""
    return lambda: mapping.__setitem__(key, make(mapping[key]))
