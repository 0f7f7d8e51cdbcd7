"""The shapes demo: every task trained and evaluated on generated data (``tools/demo.py``, ``make demo``)."""
