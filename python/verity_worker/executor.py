"""Python functions as Verity executors: the decorator, the error type, and what a running job sees."""

import inspect

from .attest import json_digest

STEP_TYPES = ('inference', 'training', 'data_processing')

# Every function the decorator saw, in order: the entry point serves those a module registered.
registered = []


class ExecutorError(Exception):
    """A failure the executor names: `code` is reported as is; `retryable` says whether another attempt may help."""

    def __init__(self, code, message, retryable=True):
        super().__init__(message)
        self.code = code
        self.message = message
        self.retryable = retryable


class Executor:
    """A function served as a model name: steps run it with `model_requirements: { name: <name> }`."""

    def __init__(self, fn, name, version, step_types, digest=None):
        if not name:
            raise ValueError('an executor needs a name')
        for step_type in step_types:
            if step_type not in STEP_TYPES:
                raise ValueError(f'{name}: unknown step type {step_type!r} (one of {", ".join(STEP_TYPES)})')
        if digest is not None and (len(digest) != 64 or any(c not in '0123456789abcdef' for c in digest)):
            raise ValueError(f'{name}: digest must be 64 lowercase hex characters')
        self.fn = fn
        self.name = name
        self.version = str(version)
        self.step_types = tuple(step_types)
        # What the worker registers and signs as the model's digest: by default the code itself, so a
        # changed function is a different model and a step pinning the old digest is not sent to it.
        self.digest = digest or source_digest(fn, name, self.version)

    def __call__(self, *args, **kwargs):
        return self.fn(*args, **kwargs)

    def __repr__(self):
        return f'<verity executor {self.name}@{self.version}>'


def source_digest(fn, name, version):
    """SHA-256 of the canonical JSON {name, source, version}, with the function's source as inspect gives it."""
    try:
        source = inspect.getsource(fn)
    except (OSError, TypeError):
        # No source to read (defined in a REPL): the name and version alone.
        source = ''
    return json_digest({'name': name, 'version': version, 'source': source})


def executor(name, version='1', step_types=('inference', 'training', 'data_processing'), digest=None):
    """Registers a function `fn(input, ctx)` as an executor; it returns the step's output (JSON-serializable)."""

    def wrap(fn):
        served = Executor(fn, name, version, step_types, digest)
        registered.append(served)
        return served

    return wrap


class Blobs:
    """The blobs a job may read (those its input names) and where it stores new ones, through its worker."""

    def __init__(self, client, worker_id, job_id):
        self._client = client
        self._worker_id = worker_id
        self._job_id = job_id

    def get(self, ref):
        """The bytes of a blob reference ({"$blob": "sha256:…", …}) or digest, checked against the digest."""
        return self._client.blob_get(self._worker_id, self._job_id, ref)

    def put(self, data, media_type='application/octet-stream'):
        """Stores bytes for this job; returns the reference the output may hold."""
        return self._client.blob_put(self._worker_id, self._job_id, data, media_type)


class Context:
    """What an executor sees besides its input."""

    def __init__(self, job, blobs, cancelled):
        self.job = job
        self.job_id = job['jobId']
        self.execution_id = job['executionId']
        self.step_id = job['stepId']
        self.attempt = job['attempt']
        self.step_type = job['stepType']
        self.max_cost = job['maxCost']
        # Milliseconds since the epoch after which the result is refused.
        self.deadline_at = job['deadlineAt']
        self.blobs = blobs
        # Set when the job is cancelled, lost, out of time or handed back on shutdown: stop soon.
        self.cancelled = cancelled
        self.cost = None
        self.usage = None

    def report_cost(self, micro_units, usage=None):
        """What the run cost (integer micro-units, at most max_cost) and its usage (name → number)."""
        if isinstance(micro_units, bool) or not isinstance(micro_units, int) or micro_units < 0:
            raise ValueError('cost is a non-negative integer of micro-units')
        if usage is not None:
            for key, value in usage.items():
                if not isinstance(key, str) or isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ValueError('usage maps names to numbers')
            self.usage = dict(usage)
        self.cost = micro_units
