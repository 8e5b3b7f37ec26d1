"""Imported at start-up by a Python process whose PYTHONPATH names this directory: when
LEPTON_TEST_CLOCK_SKEW is set, the process's wall clock (time.time, datetime.now and the
rest) runs that many seconds off, as the clock of a device that was never synchronised
would; monotonic clocks, and so timeouts, are untouched."""

import os

_skew = os.environ.get("LEPTON_TEST_CLOCK_SKEW")
if _skew:
    import time

    import time_machine

    time_machine.travel(time.time() + float(_skew), tick=True).start()
