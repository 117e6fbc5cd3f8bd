"""A Verity worker in Python: serve Python functions as executors over the worker protocol."""

from .canonical import canonical_json
from .executor import Context, Executor, ExecutorError, executor
from .worker import Worker, run_worker

__all__ = ['Context', 'Executor', 'ExecutorError', 'Worker', 'canonical_json', 'executor', 'run_worker']
