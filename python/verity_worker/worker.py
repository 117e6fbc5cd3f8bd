"""The worker runtime: claims jobs, runs them in executors under a lease it keeps alive, attests and reports."""

import logging
import os
import signal
import socket
import threading
import time
import traceback

from .attest import attest_step, iso_time, load_or_create_signer, sha256_hex
from .canonical import canonical_bytes
from .client import HttpClient
from .executor import Blobs, Context, Executor, ExecutorError

log = logging.getLogger('verity_worker')

# Outputs whose canonical JSON is larger than this go as a blob, as the TypeScript worker sends them.
OUTPUT_BLOB_BYTES = 256 * 1024
SEEN_INTERVAL_S = 10.0

_UNREPORTED = ('cancelled', 'lost', 'shutdown')


class _Running:
    """One job in flight: why it was stopped, if it was, and the events that tell the executor and the slot."""

    def __init__(self):
        self.cancelled = threading.Event()
        self.wake = threading.Event()
        self.reason = None
        self.lock = threading.Lock()

    def stop(self, reason):
        with self.lock:
            if self.reason is None:
                self.reason = reason
        self.cancelled.set()
        self.wake.set()


class Worker:
    def __init__(
        self,
        client,
        executors,
        signer,
        name=None,
        concurrency=4,
        poll_ms=1000,
        output_blob_bytes=OUTPUT_BLOB_BYTES,
        heartbeat_s=None,
    ):
        self.client = client
        self.signer = signer
        self.name = name or f'{socket.gethostname()}:{os.getpid()}'
        self.concurrency = concurrency
        self.poll_ms = poll_ms
        self.output_blob_bytes = output_blob_bytes
        self.heartbeat_s = heartbeat_s
        self.executors = {}
        for served in executors:
            if not isinstance(served, Executor):
                raise TypeError(f'{served!r} is not an executor: decorate it with @executor(name=…)')
            if served.name in self.executors:
                raise ValueError(f'two executors are named {served.name}')
            self.executors[served.name] = served
        if not self.executors:
            raise ValueError('no executors to serve')
        self.worker_id = None
        self.lease_ms = 15_000
        self._stopping = threading.Event()
        self._slots = []
        self._running = {}
        self._running_lock = threading.Lock()
        self._seen = None

    @property
    def capabilities(self):
        # Served as model names only: a step reaches a Python executor by naming it, for any step type.
        names = sorted(self.executors)
        return {
            'stepTypes': [],
            'models': names,
            'modelDigests': {name: self.executors[name].digest for name in names},
        }

    @property
    def active_jobs(self):
        with self._running_lock:
            return len(self._running)

    def start(self):
        self.worker_id, self.lease_ms = self.client.register(
            self.name, self.signer.public_key_pem, self.capabilities, self.concurrency
        )
        self._stopping.clear()
        self._seen = threading.Thread(target=self._seen_loop, name='verity-seen', daemon=True)
        self._seen.start()
        self._slots = [
            threading.Thread(target=self._slot, args=(i,), name=f'verity-slot-{i}', daemon=True)
            for i in range(self.concurrency)
        ]
        for slot in self._slots:
            slot.start()
        return self.worker_id

    def stop(self, drain_s=10.0):
        """Stops claiming, lets running jobs finish for up to `drain_s`, hands the rest back, deregisters."""
        if self.worker_id is None:
            return
        self._stopping.set()
        deadline = time.monotonic() + drain_s
        for slot in self._slots:
            slot.join(max(0.0, deadline - time.monotonic()))
        if any(slot.is_alive() for slot in self._slots):
            with self._running_lock:
                running = list(self._running.values())
            for job in running:
                job.stop('shutdown')
            for slot in self._slots:
                slot.join()
        self.client.deregister(self.worker_id)
        log.info('worker %s deregistered', self.worker_id)
        self.worker_id = None

    def _seen_loop(self):
        worker_id = self.worker_id
        while not self._stopping.wait(SEEN_INTERVAL_S):
            try:
                self.client.seen(worker_id)
            except Exception as error:  # a missed `seen` is retried in 10 s; the worker carries on
                log.warning('seen: %s', error)

    def _slot(self, index):
        worker_id = self.worker_id
        while not self._stopping.is_set():
            try:
                job = self.client.claim(worker_id, self.poll_ms)
            except Exception as error:
                log.warning('claim (slot %d): %s', index, error)
                self._stopping.wait(1.0)
                continue
            if job is None:
                continue
            try:
                self._run_job(worker_id, job)
            except Exception as error:
                log.error('job %s (step %s): %s', job.get('jobId'), job.get('stepId'), error)

    def _run_job(self, worker_id, job):
        report = {'jobId': job['jobId'], 'workerId': worker_id, 'attempt': job['attempt'], 'nonce': job['nonce']}
        if not job.get('started') and not self.client.start(report):
            return
        running = _Running()
        with self._running_lock:
            self._running[job['jobId']] = running
        done = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(report, running, done), name=f'verity-heartbeat-{job["jobId"]}', daemon=True
        )
        heartbeat.start()
        deadline = threading.Timer(max(0.0, job['deadlineAt'] / 1000 - time.time()), running.stop, args=('timeout',))
        deadline.daemon = True
        deadline.start()
        try:
            self._execute_and_report(worker_id, job, report, running)
        finally:
            done.set()
            deadline.cancel()
            with self._running_lock:
                self._running.pop(job['jobId'], None)

    def _heartbeat(self, report, running, done):
        interval = self.heartbeat_s if self.heartbeat_s is not None else max(0.05, self.lease_ms / 3000)
        while not done.wait(interval):
            try:
                state = self.client.heartbeat(report)
            except Exception as error:  # the next beat may get through before the lease runs out
                log.warning('heartbeat of job %s: %s', report['jobId'], error)
                continue
            if state != 'ok':
                running.stop(state)

    def _execute_and_report(self, worker_id, job, report, running):
        started_at = iso_time()
        ctx = None
        try:
            served = self._executor_for(job)
            ctx = Context(job, Blobs(self.client, worker_id, job['jobId']), running.cancelled)
            output = self._execute(served, job, ctx, running)
            try:
                canonical = canonical_bytes(output)
            except (TypeError, ValueError) as error:
                raise ExecutorError('invalid_output', f'the executor returned no JSON value: {error}', False)
            facts = {
                'outputDigest': sha256_hex(canonical),
                'model': {'name': served.name, 'version': served.version, 'digest': served.digest},
                # As the TypeScript SDK names it: the name and the version that ran.
                'executor': f'{served.name}@{served.version}',
                'workerId': worker_id,
                'workerKeyId': self.signer.key_id,
                'startedAt': started_at,
                'finishedAt': iso_time(),
                'usage': ctx.usage if ctx.usage is not None else {},
                # An executor that reports no cost is charged what the coordinator reserved for the job.
                'cost': ctx.cost if ctx.cost is not None else job['maxCost'],
            }
            attestation = attest_step(job, facts, self.signer)
            if len(canonical) > self.output_blob_bytes:
                # The blob's digest is the output's digest (SHA-256 of its canonical JSON): the attestation holds.
                ref = self.client.blob_put(worker_id, job['jobId'], canonical, 'application/json')
                outcome = self.client.complete(report, attestation, output_blob=ref)
            else:
                outcome = self.client.complete(report, attestation, canonical_output=canonical)
            if not outcome['accepted']:
                log.warning(
                    'result of job %s refused: %s %s', job['jobId'], outcome.get('reason'), outcome.get('message', '')
                )
        except _Stopped:
            if running.reason in _UNREPORTED:
                # No longer ours to report on: cancelled, re-queued elsewhere, or handed back on shutdown.
                return
            seconds = round((job['deadlineAt'] - job['assignedAt']) / 1000)
            self._fail(
                report,
                {'code': 'step_timeout', 'message': f'the step did not finish within {seconds} s', 'retryable': True},
                ctx,
            )
        except ExecutorError as error:
            self._fail(report, {'code': error.code, 'message': error.message, 'retryable': error.retryable}, ctx)
        except Exception as error:
            # Anything else is a bug or an environmental failure: worth another attempt.
            log.debug('job %s: %s', job['jobId'], traceback.format_exc())
            self._fail(report, {'code': 'executor_error', 'message': f'{type(error).__name__}: {error}', 'retryable': True}, ctx)

    def _fail(self, report, error, ctx):
        outcome = self.client.fail(report, error, ctx.cost if ctx is not None else None)
        if not outcome['accepted']:
            log.warning('failure of job %s refused: %s', report['jobId'], outcome.get('reason'))

    def _executor_for(self, job):
        spec = job['spec']
        model = (spec.get('model') or {}).get('name')
        served = self.executors.get(model) if model is not None else None
        if served is None:
            # The claim matched on the models this worker registered, so this is not expected.
            raise ExecutorError('no_executor', f'this worker has no executor for {model or job["stepType"]}', True)
        if job['stepType'] not in served.step_types:
            raise ExecutorError(
                'bad_request',
                f'{served.name} runs {", ".join(served.step_types)} steps; step {job["stepId"]} is a {job["stepType"]} step',
                False,
            )
        asked = (spec.get('model') or {}).get('version')
        if asked is not None and asked != served.version:
            # Another worker may serve the version the step asks for: worth another attempt.
            raise ExecutorError(
                'version_mismatch',
                f'step {job["stepId"]} asks for {served.name} {asked}; this worker has {served.version}',
                True,
            )
        if spec.get('outputMappings'):
            raise ExecutorError(
                'output_mappings_unsupported',
                'a Python worker cannot run JSONata output mappings; move this mapping into the next step\'s '
                'input_mappings (or the workflow\'s outputs) and remove output_mappings from the step',
                False,
            )
        if spec.get('zkLeaf'):
            raise ExecutorError(
                'zk_key_required',
                'the execution runs at verification level zk and this worker has no Baby Jubjub key; '
                'run the step on a TypeScript worker (verity worker creates one)',
                False,
            )
        return served

    def _execute(self, served, job, ctx, running):
        """Runs the executor in a thread of its own, and stops waiting the moment the job is stopped."""
        outcome = {}

        def run():
            try:
                outcome['output'] = served.fn(job.get('input'), ctx)
            except BaseException as error:  # handed to the slot, which reports it
                outcome['error'] = error
            finally:
                running.wake.set()

        thread = threading.Thread(target=run, name=f'verity-job-{job["jobId"]}', daemon=True)
        thread.start()
        running.wake.wait()
        if running.reason is not None:
            raise _Stopped()
        if 'error' in outcome:
            raise outcome['error']
        return outcome['output']


class _Stopped(Exception):
    pass


def run_worker(
    server,
    key,
    executors,
    concurrency=4,
    data_dir='.verity-worker',
    name=None,
    drain_s=10.0,
    poll_ms=1000,
):
    """Registers and serves until SIGTERM or SIGINT, then drains for up to `drain_s` and deregisters."""
    signer = load_or_create_signer(os.path.join(data_dir, 'keys', 'worker.key'))
    worker = Worker(HttpClient(server, key, signer), executors, signer, name, concurrency, poll_ms)
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
    worker_id = worker.start()
    served = ', '.join(f'{e.name}@{e.version}' for e in worker.executors.values())
    log.info('worker %s (key %s) serving %s on %s', worker_id, signer.key_id, served, server)
    while not stop.wait(1.0):
        pass
    log.info('stopping: draining %d running job(s) for up to %g s', worker.active_jobs, drain_s)
    worker.stop(drain_s)
    return worker_id
