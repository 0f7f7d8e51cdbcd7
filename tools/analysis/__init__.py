"""Analysis tools (``python tools/analysis/<tool>.py``) and, in :mod:`tools.analysis.lib`, the code they share."""
