from .qllama import (QLLAMA_ARCH_ZOO, QLLaMA, QLLaMADecoderLayer, build_attention_mask, resolve_qllama_arch)
from .tokenizer import InternVLTokenizer, check_tokenizer_dir, load_tokenizer

__all__ = ['InternVLTokenizer', 'QLLAMA_ARCH_ZOO', 'QLLaMA', 'QLLaMADecoderLayer', 'build_attention_mask',
           'check_tokenizer_dir', 'load_tokenizer', 'resolve_qllama_arch']
