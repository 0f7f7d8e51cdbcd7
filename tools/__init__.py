"""The command-line tools (``python tools/<tool>.py``). A package only so that ``tools.analysis`` can be imported
from a checkout (tests, configs' ``custom_imports``); it is not installed with ``internvl_mm``."""
