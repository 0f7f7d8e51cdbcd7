"""Helpers the tools share (tools/cli.py)."""
import socket

import torch.distributed as dist

from tools.cli import release_process_group


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def test_release_process_group_tears_down_gloo_and_is_a_no_op_without_one():
    release_process_group()  # nothing initialised: nothing to do
    dist.init_process_group('gloo', init_method=f'tcp://127.0.0.1:{_free_port()}', rank=0, world_size=1)
    try:
        assert dist.is_initialized()
        release_process_group()
        assert not dist.is_initialized()
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()
