"""Shared by the zero-shot tests: a small InternVL-C configured on top of a real zero-shot config, its checkpoint,
a run of tools/test.py with its predictions, and the hand computations the metrics are checked against."""
import os.path as osp
import pickle

import torch
import torch.nn.functional as F

from tests.helpers import run_tool

# A small InternVL-C (the demo's feature set at 48 px); replaces the 14B towers of the real configs.
SMALL_MODEL = """
model = dict(
    backbone=dict(_delete_=True, type='InternViT', arch=dict(embed_dims=96, num_layers=2, num_heads=3,
                  feedforward_channels=192, img_size=48, patch_size=8)),
    qllama=dict(_delete_=True, arch=dict(hidden_size=96, num_layers=2, num_heads=3, intermediate_size=192,
                vocab_size={vocab_size})),
    num_query_token=0, embed_dim=64, attn_pool_num_heads=4, tokenizer={tokenizer!r}, max_txt_len=48)
"""
LOADER = "num_workers=0, persistent_workers=False, batch_size=4"


def write_config(folder: str, base: str, body: str) -> str:
    """A config inheriting the real ``base`` (a path), with the small model and ``body``."""
    path = osp.join(folder, 'small_' + osp.basename(base))
    with open(path, 'w') as f:
        f.write(f'_base_ = [{base!r}]\n' + body)
    return path


def build_checkpoint(config: str, out: str):
    """Build the config's model with random (non-trivial) weights and save an mmengine checkpoint; return the
    model (eval mode) for the hand computation."""
    from mmengine.config import Config

    from internvl_mm.registry import MODELS
    cfg = Config.fromfile(config)
    model = MODELS.build(cfg.model)
    model.init_weights()
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith('bias') or 'norm' in name:
                p.add_(torch.randn_like(p) * 0.1)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, out)
    return model.eval(), cfg


def run_test(config: str, checkpoint: str, work_dir: str):
    """tools/test.py CONFIG CHECKPOINT --out: (the printed metrics, the dumped predictions)."""
    out = osp.join(work_dir, 'predictions.pkl')
    result = run_tool('test.py', config, checkpoint, '--work-dir', work_dir, '--out', out)
    line = result.stdout.strip().splitlines()[-1]
    metrics = {k: float(v) for k, v in (item.split('=') for item in line.split())}
    with open(out, 'rb') as f:
        return metrics, pickle.load(f)


def normalise_pixels(frames: torch.Tensor, cfg) -> torch.Tensor:
    """(..., 3, H, W) uint8 RGB -> the data preprocessor's normalised floats (mean / std of the config)."""
    mean = torch.tensor(cfg.model.data_preprocessor.mean).view(3, 1, 1)
    std = torch.tensor(cfg.model.data_preprocessor.std).view(3, 1, 1)
    return (frames.float() - mean) / std


@torch.no_grad()
def classifier_by_hand(model, tokenizer_dir: str, class_names, templates, max_length: int = 48) -> torch.Tensor:
    """Per class: the normalised mean of the normalised prompt embeddings (independently of the model's cache)."""
    from internvl_mm.models.language import InternVLTokenizer
    tok = InternVLTokenizer(tokenizer_dir, max_length)
    ids, _ = tok.encode([t.format(name) for name in class_names for t in templates], prefix='summarize:')
    prompts = torch.cat([model.encode_text(chunk) for chunk in ids.split(500)])  # every prompt, then per class
    prompts = F.normalize(prompts, dim=-1).view(len(class_names), len(templates), -1)
    return F.normalize(prompts.mean(1), dim=-1)


def accuracies_by_hand(scores: torch.Tensor, labels, ks=(1, 5)) -> dict:
    """top-k accuracy and mean per-class recall in %, with plain loops."""
    out = {}
    order = scores.argsort(dim=1, descending=True).tolist()
    for k in ks:
        out[f'top{k}'] = 100.0 * sum(label in row[:k] for row, label in zip(order, labels)) / len(labels)
    per_class = {}
    for row, label in zip(order, labels):
        per_class.setdefault(label, []).append(row[0] == label)
    out['mean_per_class_recall'] = 100.0 * sum(sum(v) / len(v) for v in per_class.values()) / len(per_class)
    return out


def recall_by_hand(images: torch.Tensor, texts: torch.Tensor, owner, ks=(1, 5, 10)) -> dict:
    """R@K both ways in % with plain loops (an image is right if any of its texts is in its top K)."""
    sims = images @ texts.t()
    out = {}
    for k in ks:
        i2t = [any(owner[t] == i for t in sims[i].argsort(descending=True)[:k].tolist()) for i in range(len(images))]
        t2i = [owner[t] in sims[:, t].argsort(descending=True)[:k].tolist() for t in range(len(texts))]
        out[f'i2t_R@{k}'] = 100.0 * sum(i2t) / len(i2t)
        out[f't2i_R@{k}'] = 100.0 * sum(t2i) / len(t2i)
    out['mean_recall'] = sum(out.values()) / len(out)
    return out


# Captions in several scripts, for a multilingual tokenizer with byte fallback (as LLaMA's): every character gets
# ids, rare ones as UTF-8 bytes, none becomes <unk> (id 0, InternVL's padding).
MULTILINGUAL_CAPTIONS = {
    'zh': ['一只红色的圆形在左边', '一个蓝色的方块在中间', '两个绿色的三角形在右上角', '一条狗在草地上奔跑'],
    'ja': ['赤い丸が左にあります', '青い四角が真ん中にあります', '草の上を走る犬'],
    'ko': ['빨간 원이 왼쪽에 있다', '파란 사각형이 가운데에 있다'],
    'ar': ['دائرة حمراء على اليسار', 'مربع أزرق في الوسط'],
    'ru': ['красный круг слева', 'синий квадрат в центре'],
    'en': ['a red circle on the left', 'a blue square in the middle', 'summarize:'],
}


def write_multilingual_tokenizer(folder: str, vocab_size: int = 400) -> str:
    """A LLaMA-style SentencePiece BPE tokenizer with byte fallback, in a release folder's layout."""
    from projects.shapes_demo.shapes.formats import write_sentencepiece_tokenizer
    texts = [c for captions in MULTILINGUAL_CAPTIONS.values() for c in captions]
    write_sentencepiece_tokenizer(folder, texts * 4, vocab_size, byte_fallback=True, character_coverage=0.98)
    return folder
