"""LoRA / DoRA on InternViT (peft): what trains, what the checkpoints hold, merging, and the load paths."""
import pytest
import torch
from safetensors.torch import save_file

from internvl_mm.errors import CheckpointError, ConfigError
from internvl_mm.models import adapters
from internvl_mm.models.backbones.intern_vit import InternViT
from internvl_mm.weights import load_weights, source_digest
from tests.helpers import random_internvit, rel_err

METHODS = ['LoRA', 'DoRA']


@pytest.fixture
def base_file(tmp_path):
    """A tiny InternViT's weights in the Hugging Face release layout, and that model."""
    base = random_internvit('tiny')
    path = str(tmp_path / 'base.safetensors')
    save_file(base.release_state_dict(), path)
    return path, base.eval()


def adapted(path, method='LoRA', **adapter):
    vit = InternViT('tiny', adapter=dict(type=method, rank=4, alpha=8, **adapter),
                    init_cfg=dict(type='Pretrained', checkpoint=path))
    vit.init_weights()
    return vit.eval()


def perturb_adapters(vit):
    with torch.no_grad():
        for name in vit.adapter_keys():
            vit.get_parameter(name).add_(torch.randn_like(vit.get_parameter(name)) * 0.05)


def adapter_checkpoint(vit, path):
    """What AdapterCheckpointHook saves for a bare backbone: adapters + the base pointer."""
    frozen = set(adapters.base_weight_keys(dict(vit.named_parameters())))
    state = {k: v.clone() for k, v in vit.state_dict().items() if k not in frozen}
    state[adapters.BASE_POINTER_KEY] = adapters.encode_base_pointer(path, '', source_digest(path))
    return state


@pytest.mark.parametrize('method', METHODS)
def test_only_adapters_train_and_start_as_the_base(base_file, method):
    path, base = base_file
    vit = adapted(path, method)
    x = torch.randn(2, 3, 56, 56)
    # LoRA's B starts at zero and DoRA's magnitude at the loaded base's norms: the adapted model is the base
    assert torch.equal(vit(x)[0], base(x)[0])
    trainable = [n for n, p in vit.named_parameters() if p.requires_grad]
    assert trainable and all(adapters.is_adapter_key(n) for n in trainable)
    assert len([n for n in trainable if '.lora_A.' in n]) == 4 * 4  # 4 targets x 4 blocks


def test_a_training_step_leaves_the_base_bit_identical(base_file):
    path, _ = base_file
    vit = adapted(path).train()
    before = {k: v.clone() for k, v in vit.state_dict().items()}
    optimizer = torch.optim.AdamW([p for p in vit.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(2):
        vit(torch.randn(2, 3, 56, 56))[0].pow(2).mean().backward()
        optimizer.step()
        optimizer.zero_grad()
    after = vit.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and all(adapters.is_adapter_key(k) for k in changed)
    assert any('.lora_B.' in k for k in changed)


@pytest.mark.parametrize('method', METHODS)
def test_merged_equals_unmerged(base_file, method):
    path, _ = base_file
    vit = adapted(path, method)
    perturb_adapters(vit)
    x = torch.randn(2, 3, 56, 56)
    unmerged = vit(x)[0]
    assert vit.merge_adapters() == 16
    assert not vit.adapter_keys() and vit.adapter is None
    assert rel_err(vit(x)[0], unmerged) <= 1e-5
    # a merged backbone is a plain InternViT: its release layout loads into one without adapters
    plain = InternViT('tiny')
    load_weights(plain, vit.release_state_dict())
    assert rel_err(plain.eval()(x)[0], unmerged) <= 1e-5


@pytest.mark.parametrize('loader', ['load_state_dict', 'load_weights'])
def test_adapter_checkpoint_refills_its_base_on_every_load_path(base_file, loader):
    path, _ = base_file
    vit = adapted(path, 'DoRA')
    perturb_adapters(vit)
    state = adapter_checkpoint(vit, path)
    assert not any(k.startswith('blocks.0.norm1') or 'base_layer' in k for k in state)
    fresh = InternViT('tiny', adapter=dict(type='DoRA', rank=4, alpha=8))  # random base, no init_cfg
    if loader == 'load_state_dict':
        fresh.load_state_dict(state, strict=True)
    else:
        load_weights(fresh, state)
    x = torch.randn(2, 3, 56, 56)
    assert torch.equal(fresh.eval()(x)[0], vit(x)[0])


def test_a_changed_base_is_refused(base_file, tmp_path):
    path, _ = base_file
    vit = adapted(path)
    state = adapter_checkpoint(vit, path)
    other = random_internvit('tiny')
    save_file(other.release_state_dict(), path)  # the base file was replaced after training
    with pytest.raises(CheckpointError, match='adapters only fit the base they were trained on'):
        InternViT('tiny', adapter=dict(type='LoRA', rank=4, alpha=8)).load_state_dict(state)
    state[adapters.BASE_POINTER_KEY] = adapters.encode_base_pointer(str(tmp_path / 'gone.safetensors'), '', 'x')
    with pytest.raises(CheckpointError, match='needs its base weights'):
        InternViT('tiny', adapter=dict(type='LoRA', rank=4, alpha=8)).load_state_dict(state)


def test_blocks_and_targets_select_the_adapted_layers(base_file):
    path, _ = base_file
    vit = adapted(path, targets=('qkv', 'fc2'), blocks=[-1])
    assert sorted({k.split('.lora_')[0] for k in vit.adapter_keys()}) == ['blocks.3.attn.qkv', 'blocks.3.mlp.fc2']


@pytest.mark.parametrize('adapter, match', [
    (dict(type='IA3'), 'not one of'),
    (dict(targets=('q_proj', )), 'not in'),
    (dict(blocks=[7]), 'out of range'),
    (dict(rank=0), 'rank must be'),
    (dict(lora_rank=4), 'unknown adapter options'),
])
def test_bad_adapter_configs_are_named(adapter, match):
    with pytest.raises(ConfigError, match=match):
        InternViT('tiny', adapter=adapter)


def test_adapters_inside_frozen_stages_are_refused():
    with pytest.raises(ConfigError, match='frozen_stages'):
        InternViT('tiny', frozen_stages=2, adapter=dict(type='LoRA'))
    InternViT('tiny', frozen_stages=2, adapter=dict(type='LoRA', blocks=[2, 3]))  # after the frozen prefix: fine


def test_a_release_of_an_adapted_model_needs_a_merge(base_file):
    with pytest.raises(ConfigError, match='merge them first'):
        adapted(base_file[0]).release_state_dict()


def test_layer_decay_gives_adapters_their_block_depth():
    from mmengine.optim import OptimWrapper  # noqa: F401  (registers the wrapper types)

    from internvl_mm.engine.optimizers.layer_decay import LayerDecayOptimWrapperConstructor
    vit = InternViT('tiny', adapter=dict(type='DoRA', rank=4))
    head = torch.nn.Linear(64, 3)
    model = torch.nn.ModuleDict(dict(backbone=vit, head=head))
    constructor = LayerDecayOptimWrapperConstructor(
        dict(type='OptimWrapper', optimizer=dict(type='AdamW', lr=1.0, weight_decay=0.1)),
        dict(layer_decay_rate=0.5))
    groups = constructor(model).optimizer.param_groups
    lr = {name: g['lr'] for g in groups for name in g['param_names']}
    wd = {name: g['weight_decay'] for g in groups for name in g['param_names']}
    assert set(lr) == {*(f'backbone.{k}' for k in vit.adapter_keys()), 'head.weight', 'head.bias'}
    # 4 blocks + embeddings + the rest: block i at 0.5 ** (5 - (i + 1)), the head at the full rate
    assert lr['backbone.blocks.0.attn.qkv.lora_A.default.weight'] == 0.5**4
    assert lr['backbone.blocks.3.mlp.fc2.lora_B.default.weight'] == 0.5**1
    assert lr['head.weight'] == 1.0
    assert wd['backbone.blocks.0.attn.qkv.lora_A.default.weight'] == 0.1
    assert wd['backbone.blocks.0.attn.qkv.lora_magnitude_vector.default.weight'] == 0.0


@pytest.mark.parametrize('config', [
    'classification/lora_internvit-demo_shapes-cls.py',
    'segmentation/upernet-lora_internvit-demo_shapes-seg.py',
    'detection/mask-rcnn_internvit-demo_shapes-det.py',
    'pretraining/internvl-c_internvit-demo_shapes-caption.py',
])
def test_every_task_model_takes_the_adapter_include(config):
    """The include works wherever InternViT sits: a classifier's, segmentor's or detector's backbone, InternVL's
    vision tower. In the tower only the adapters train; everything outside the backbone trains as before."""
    import os.path as osp

    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from internvl_mm.models import find_internvit
    from internvl_mm.registry import MODELS
    from tests.helpers import DEMO_CONFIGS
    cfg = Config.fromfile(osp.join(DEMO_CONFIGS, config))
    cfg.model.backbone.update(adapter=dict(type='LoRA', rank=4), init_cfg=None)
    init_default_scope(cfg.default_scope)
    model = MODELS.build(cfg.model)
    [(prefix, vit)] = find_internvit(model)
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert all(adapters.is_adapter_key(n) for n in trainable if n.startswith(prefix))
    assert any(adapters.is_adapter_key(n) for n in trainable)
    assert any(not n.startswith(prefix) for n in trainable)  # head / neck / text tower
