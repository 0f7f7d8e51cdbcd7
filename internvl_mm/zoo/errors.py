"""The zoo's errors. Each message is one line that names the model, the problem and the fix."""
from internvl_mm.errors import CheckpointError


class ZooError(CheckpointError):
    """A zoo model that can not be found, downloaded or read; ``zoo://`` loading raises it like any checkpoint error."""


class ChecksumError(ZooError):
    """A downloaded or cached file whose hash differs from the one the hub publishes for it."""
