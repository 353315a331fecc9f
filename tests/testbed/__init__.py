"""The project's test platform: daemons, the embedded guest, isolated networks, bounded waits.

Used by the test suites and by ``make demo``; everything it creates carries a caller-given prefix
so that cleanup (and the leak check at the end of a run) can find it.
"""
