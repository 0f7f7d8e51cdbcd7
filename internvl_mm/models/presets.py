"""Architecture presets shared by the model families: a preset name (or alias) or a custom dict -> a full spec."""
from typing import Dict, Sequence, Union


def resolve_preset(arch: Union[str, dict], zoo: Dict[str, dict], aliases: Dict[str, str],
                   required: Sequence[str], defaults: dict, what: str) -> dict:
    """The full spec of ``arch``: a name or alias of ``zoo`` (case-insensitive), or a dict with every ``required``
    key and any of ``defaults`` (which fill the rest). Mistakes name the choices; ``what`` names the model."""
    if isinstance(arch, str):
        name = aliases.get(arch.lower(), arch.lower())
        if name not in zoo:
            raise ValueError(f'Unknown {what} arch {arch!r}. Choose one of {sorted(zoo)} (aliases: '
                             f'{sorted(aliases)}), or pass a dict with keys {tuple(required)}.')
        return dict(zoo[name])
    if not isinstance(arch, dict):
        raise TypeError(f'{what} arch must be a preset name or a dict, got {type(arch).__name__}')
    missing = [k for k in required if k not in arch]
    unknown = sorted(set(arch) - set(required) - set(defaults))
    if missing or unknown:
        raise ValueError(f'Custom {what} arch: missing keys {missing}, unknown keys {unknown}. Required: '
                         f'{tuple(required)}; optional: {sorted(defaults)}.')
    return dict(defaults, **arch)
