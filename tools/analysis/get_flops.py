"""Parameters and FLOPs (fvcore) of a config's model or of an InternViT release, per module group, checked against
the analytic count of a ViT.

    python tools/analysis/get_flops.py CONFIG [--shape H W] [--cfg-options k=v ...] [--json FILE]
    python tools/analysis/get_flops.py internvit-6b-448px-v2_5 [--shape 448 448]   # a zoo name or an arch preset

The model is built on the meta device, so InternViT-6B is counted without allocating its 24 GB. FLOPs follow fvcore
(and the OpenMMLab metafiles): one multiply-accumulate = 1 FLOP. The analytic formula is in
tools/analysis/lib/flops.py; the InternViT part of the count must agree with it within 2 % (exit status 1 if not).
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

import torch  # noqa: E402

import internvl_mm  # noqa: E402,F401  (compat fixes + registrations)
from internvl_mm.errors import ConfigError, UserError  # noqa: E402
from internvl_mm.models.backbones.intern_vit import find_internvit  # noqa: E402
from tools.analysis.lib.flops import (ViTShape, count_model_flops, fmt_count, internvit_macs,  # noqa: E402
                                      internvit_params, table, tokens_for)
from tools.cli import load_config, one_line_errors  # noqa: E402

TOLERANCE = 0.02
FORMULA = '(N-1)*3p^2*C + L*N*(4C^2 + 2CF) + 2*L*N^2*C'


def parse_args():
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description='Parameters and FLOPs of a model, per module group')
    parser.add_argument('config', help='config file, zoo name (internvit-6b-224px) or InternViT arch (6b-448)')
    parser.add_argument('--shape', type=int, nargs='+', metavar='SIZE',
                        help='input H W (or one size for both); default: the backbone\'s img_size')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction, default={},
                        help='override config entries, e.g. model.backbone.out_type=raw')
    parser.add_argument('--json', metavar='FILE', help='also write the result as JSON')
    return parser.parse_args()


def first_internvit(model):
    """(module path, InternViT) of the model's first InternViT ('' for the model itself), or ('', None)."""
    found = find_internvit(model)
    return (found[0][0].rstrip('.'), found[0][1]) if found else ('', None)


REAL_BUILD_LIMIT = 2e9  # parameters: a model that fails to trace on the meta device is re-counted on the CPU


def build_model(name: str, cfg_options: dict, device: str = 'meta'):
    """(model, description, is_config) built on ``device`` from a config file, a zoo name or an arch preset."""
    from internvl_mm.models import InternViT
    if os.path.isfile(name) or name.endswith('.py'):
        from mmengine.registry import DefaultScope, init_default_scope
        from internvl_mm.registry import MODELS
        cfg = load_config(name, cfg_options)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        try:
            with torch.device(device):
                model = MODELS.build(cfg.model)
        except (TypeError, KeyError, ValueError) as e:  # the registry's "class X: ..." for a model it can not build
            raise ConfigError(f'the model of {name} can not be built: {e}') from e
        finally:
            DefaultScope._instance_dict.clear()
        return model.eval(), f'{name} ({type(model).__name__})', True
    if cfg_options:
        raise UserError('--cfg-options applies to config files only')
    from internvl_mm import zoo
    arch = zoo.ZOO[name.lower()].arch if name.lower() in zoo.ZOO else name
    try:
        with torch.device(device):
            model = InternViT(arch)
    except (TypeError, ValueError) as e:  # an unknown name: the message lists the presets and aliases
        raise UserError(str(e)) from e
    described = f'InternViT({arch!r})' + (f', the backbone of zoo://{name.lower()}' if arch != name else '')
    return model.eval(), described, False


def forward_strategies(model, backbone_only: bool = True):
    """How to run the model, most complete first: a bare backbone, the OpenMMLab 'tensor' mode (backbone, neck and
    head), ``extract_feat`` (backbone and neck: detectors' heads need image metas), the InternViT alone."""
    from internvl_mm.models import InternViT
    if isinstance(model, InternViT):
        return [('model(inputs)', lambda m, x: m(x))]
    strategies = [("model(inputs, mode='tensor')", lambda m, x: m(x, mode='tensor'))]
    if hasattr(model, 'extract_feat'):
        strategies.append(('model.extract_feat(inputs)', lambda m, x: m.extract_feat(x)))
    path, vit = first_internvit(model)
    if vit is not None and backbone_only:
        strategies.append((f'model.{path}(inputs) (the backbone only)', lambda m, x: vit(x)))
    return strategies


def try_strategies(model, inputs, errors, backbone_only=True):
    for how, fn in forward_strategies(model, backbone_only):
        try:
            return f'{how} on the {inputs.device.type} device', count_model_flops(model, inputs, fn)
        except Exception as e:  # noqa: BLE001  (a part that cannot be traced: fall back, and say why)
            message = str(e).strip().splitlines()[0] if str(e).strip() else ''
            errors.append(f'{how} on the {inputs.device.type} device: {type(e).__name__}: {message}')
    return None, None


def count(name, cfg_options, shape):
    """Count on the meta device; a model whose neck or head cannot be traced there (convolutions other than the
    patch embedding) is re-counted with real tensors when it fits in memory, else its backbone alone is counted."""
    model, description, is_config = build_model(name, cfg_options)
    hw = input_size(model, shape)
    errors = []
    how, report = try_strategies(model, torch.empty(1, 3, *hw, device='meta'), errors, backbone_only=False)
    if report is None and sum(p.numel() for p in model.parameters()) <= REAL_BUILD_LIMIT:
        torch.manual_seed(0)
        model, _, _ = build_model(name, cfg_options, 'cpu')
        how, report = try_strategies(model, torch.randn(1, 3, *hw), errors, backbone_only=False)
    if report is None:
        how, report = try_strategies(model, torch.empty(1, 3, *hw, device=next(model.parameters()).device),
                                     errors)
    if report is None:
        raise UserError('could not trace the model: ' + ' | '.join(errors))
    return model, description, hw, how, report, errors


def input_size(model, shape):
    _, vit = first_internvit(model)
    if shape and len(shape) not in (1, 2):
        raise UserError(f'--shape takes H W or one size, got {shape}')
    if shape:
        hw = (shape[0], shape[-1])
    elif vit is not None:
        hw = (vit.img_size, vit.img_size)
    else:
        raise UserError('the model has no InternViT backbone to take the input size from; pass --shape H W')
    if min(hw) <= 0:
        raise UserError(f'--shape must be positive, got {hw}')
    return hw


def main():
    args = parse_args()
    with one_line_errors('get_flops'):
        model, description, hw, how, report, fallbacks = count(args.config, args.cfg_options, args.shape)
        path, vit = first_internvit(model)
        lines = [f'model: {description}', f'input: 1 x 3 x {hw[0]} x {hw[1]}; counted: {how}']
        lines += [f'  (fell back from {f})' for f in fallbacks]
        rows = [(r.name + (' [sdpa]' if r.name.endswith('attn') and not r.params and r.macs else ''), r.count,
                 f'{r.params:,}', fmt_count(r.macs), f'{100 * r.macs / max(report.total, 1):.2f}')
                for r in report.rows]
        rows.append(('total', '', f'{report.params:,}', fmt_count(report.total), '100.00'))
        lines += ['', table(['module', 'modules', 'params', 'FLOPs', '% FLOPs'], rows), '']
        result = dict(model=description, shape=list(hw), counted=how, params=report.params, flops=report.total,
                      rows=[r.__dict__ for r in report.rows], skipped_ops=report.skipped_ops)
        ok = True
        if vit is not None:
            shape = ViTShape.from_model(vit)
            grid, N = tokens_for(shape.patch_size, hw)
            analytic = internvit_macs(shape, hw)['total']
            counted = report.by_module.get(path, 0)
            ratio = counted / analytic
            ok = abs(ratio - 1) <= TOLERANCE
            vit_params = sum(p.numel() for p in vit.parameters())
            lines += [f'InternViT ({path or "the model"}): {shape.num_layers} blocks run, N = {N} tokens, '
                      f'C = {shape.embed_dims}, F = {shape.mlp_dims}, p = {shape.patch_size}',
                      f'  analytic FLOPs {FORMULA} = {fmt_count(analytic)}; fvcore {fmt_count(counted)}; '
                      f'ratio {ratio:.4f} ({"within" if ok else "NOT within"} {TOLERANCE:.0%})',
                      f'  parameters {vit_params:,} (analytic {internvit_params(shape, vit.grid):,})'
                      if len(vit.blocks) == shape.num_layers else f'  parameters {vit_params:,}']
            result['internvit'] = dict(path=path, tokens=N, blocks=shape.num_layers, fvcore=counted,
                                       analytic=analytic, ratio=ratio, within_tolerance=ok, params=vit_params)
        lines.append('FLOPs: fvcore convention, 1 multiply-accumulate = 1 FLOP (x2 for hardware FLOP rates). '
                     'Not counted: ' + (', '.join(f'{k} x{v}' for k, v in sorted(report.skipped_ops.items()))
                                        or 'nothing') + ' (elementwise).')
        print('\n'.join(lines))
        if args.json:
            with open(args.json, 'w') as f:
                json.dump(result, f, indent=2)
        if not ok:
            sys.exit(1)


if __name__ == '__main__':
    main()
