"""python3 -m verity_worker --server URL --key KEY --module my_executors.py [--concurrency N] [--data-dir D] [--name N]"""

import argparse
import importlib
import importlib.util
import logging
import os
import sys

from .executor import registered
from .attest import KeyFileError
from .client import WorkerHttpError
from .worker import run_worker


def load_module(spec):
    """A file path (my_executors.py) or an importable module name (my_package.executors)."""
    if spec.endswith('.py') or os.path.sep in spec:
        path = os.path.abspath(spec)
        name = os.path.splitext(os.path.basename(path))[0]
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise SystemExit(f'verity_worker: cannot load {spec}')
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module
        # Its own directory first, so it imports its neighbours as a script would.
        sys.path.insert(0, os.path.dirname(path))
        module_spec.loader.exec_module(module)
        return module
    return importlib.import_module(spec)


def main(argv=None):
    parser = argparse.ArgumentParser(prog='python3 -m verity_worker', description='A Verity worker serving Python executors.')
    parser.add_argument('--server', default=os.environ.get('VERITY_SERVER'), help='the Verity server (or VERITY_SERVER)')
    parser.add_argument('--key', default=os.environ.get('VERITY_API_KEY'), help='an API key of role worker (or VERITY_API_KEY)')
    parser.add_argument('--module', action='append', required=True, help='a .py file or module that defines executors (repeatable)')
    parser.add_argument('--concurrency', type=int, default=4, help='jobs run at once (threads; default 4)')
    parser.add_argument('--data-dir', default='.verity-worker', help='where the worker key lives (keys/worker.key)')
    parser.add_argument('--name', default=None, help='the name the worker registers under (default host:pid)')
    parser.add_argument('--drain-ms', type=int, default=10_000, help='how long running jobs may finish on SIGTERM')
    parser.add_argument('--log-level', default='info', choices=['debug', 'info', 'warning', 'error'])
    args = parser.parse_args(argv)
    if not args.server:
        parser.error('--server (or VERITY_SERVER) is required')
    if not args.key:
        parser.error('--key (or VERITY_API_KEY) is required')
    if args.concurrency < 1:
        parser.error('--concurrency must be at least 1')
    logging.basicConfig(level=args.log_level.upper(), format='%(asctime)s %(levelname)s %(message)s', stream=sys.stderr)
    before = len(registered)
    for spec in args.module:
        load_module(spec)
    executors = registered[before:]
    if not executors:
        parser.error('the modules define no executors: decorate a function with @executor(name=…, version=…)')
    try:
        run_worker(
            server=args.server,
            key=args.key,
            executors=executors,
            concurrency=args.concurrency,
            data_dir=args.data_dir,
            name=args.name,
            drain_s=args.drain_ms / 1000,
        )
    except (KeyFileError, WorkerHttpError, ValueError) as error:
        # What the user must fix (a key file, the server's refusal), without a traceback in the way.
        print(f'verity_worker: {error}', file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
