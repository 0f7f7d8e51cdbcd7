"""The model zoo from the command line: list the official releases, download, verify and locate them.

    python tools/download.py list
    python tools/download.py download NAME [--retries N] [--no-progress]
    python tools/download.py verify NAME
    python tools/download.py path NAME

Releases go to the Hugging Face cache (HF_HUB_CACHE) from HF_ENDPOINT (a mirror, if set); an interrupted download
resumes when run again; HF_HUB_OFFLINE=1 serves everything from the cache. Errors are reported in one line.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from internvl_mm import zoo  # noqa: E402
from tools.cli import one_line_errors  # noqa: E402


def parse_args():
    parser = argparse.ArgumentParser(description='List, download, verify and locate the model zoo releases')
    commands = parser.add_subparsers(dest='command', required=True)
    commands.add_parser('list', help='show every release: name, parameters, download size, tasks, hub revision')
    for name, text in (('download', 'download a release (or finish an interrupted download)'),
                       ('verify', 're-hash the cached files against the hub; deletes any that fail'),
                       ('path', 'print the cached folder of a release (no network)')):
        command = commands.add_parser(name, help=text)
        command.add_argument('name', help='release name, see `list`')
        if name != 'path':
            command.add_argument('--retries', type=int, default=zoo.hub.DEFAULT_RETRIES,
                                 help='attempts in a row without data before giving up (default %(default)s)')
    commands.choices['download'].add_argument('--no-progress', action='store_true', help='no progress bars')
    return parser.parse_args()


def print_table():
    settings = zoo.HubSettings.from_env()
    rows = [('NAME', 'PARAMS', 'SIZE', 'TASKS', 'HUGGING FACE REPO @ REVISION', 'CACHED')]
    for model in zoo.list_models():
        revision = model.revision[:12] if model.pinned else f'{model.revision} (unpinned)'
        rows.append((model.name, f'{model.params / 1e9:.2f}B' if model.params >= 1e9 else f'{model.params / 1e6:.0f}M',
                     model.size, model.tasks, f'{model.repo_id} @ {revision}',
                     'yes' if zoo.cached_snapshot(model, settings) else 'no'))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print('  '.join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(f'\nCache: {settings.cache_dir}; hub: {settings.endpoint}. Use a name as init_cfg=dict(type='
          f"'Pretrained', checkpoint='zoo://NAME') or load_from='zoo://NAME'.")


def report_verification(name: str, retries: int):
    folder, checks = zoo.verify(name, retries=retries)
    print(f'{folder}:')
    for check in checks:
        status = 'ok' if check.ok else ('MISSING' if check.actual is None else 'CORRUPT')
        print(f'  {status:8} {check.path}')
    failed = [c for c in checks if not c.ok]
    if failed:
        first = failed[0]
        detail = 'is missing' if first.actual is None else (
            f'has {zoo.hub.hash_kind(first.expected)} {first.actual}, the hub publishes {first.expected}; deleted')
        raise zoo.ZooError(f'{name}: {len(failed)} of {len(checks)} cached files failed verification ({first.path} '
                           f'{detail}); run `python tools/download.py download {name}` to fetch them again')
    print(f'all {len(checks)} files match the hub')


def main():
    try:
        run()
    except KeyboardInterrupt:  # one line, no traceback: what was downloaded stays and the command resumes
        print('\ndownload: interrupted; the files and partial files downloaded so far are kept, and the same '
              'command resumes', file=sys.stderr)
        sys.exit(130)


def run():
    args = parse_args()
    with one_line_errors('download'):
        if args.command == 'list':
            print_table()
        elif args.command == 'download':
            print(zoo.download(args.name, retries=args.retries, progress=not args.no_progress))
        elif args.command == 'verify':
            report_verification(args.name, args.retries)
        else:
            print(zoo.local_path(args.name))


if __name__ == '__main__':
    main()
