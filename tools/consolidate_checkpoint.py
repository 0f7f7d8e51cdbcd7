"""Turn a checkpoint of any training strategy into one fp32 file that tools/test.py and init_cfg load.

    python tools/consolidate_checkpoint.py work_dirs/x/iter_8000.pth consolidated.pth

DeepSpeed ZeRO checkpoints (folders) are rebuilt from their fp32 master partitions; FSDP / DDP checkpoints are
already full state dicts and are rewritten in fp32.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from internvl_mm.engine.checkpoints import save_consolidated  # noqa: E402
from internvl_mm.errors import CheckpointError  # noqa: E402
from tools.cli import one_line_errors  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('checkpoint', help='a checkpoint file or DeepSpeed checkpoint folder')
    parser.add_argument('out_file', help='where to write the fp32 state dict')
    args = parser.parse_args()
    with one_line_errors('consolidate_checkpoint'):
        if not os.path.exists(args.checkpoint):
            raise CheckpointError(f'checkpoint {args.checkpoint} does not exist')
        count = save_consolidated(args.checkpoint, args.out_file)
    print(f'wrote {count} fp32 tensors to {args.out_file}')


if __name__ == '__main__':
    main()
