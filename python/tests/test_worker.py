"""The worker runtime against a fake coordinator speaking the worker protocol over HTTP."""

import base64
import json
import os
import re
import stat
import sys
import tempfile
import threading
import time
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey  # noqa: E402

from verity_worker import ExecutorError, Worker, executor  # noqa: E402
from verity_worker.attest import (  # noqa: E402
    Signer,
    blob_digest,
    json_digest,
    KeyFileError,
    load_or_create_signer,
    pae,
    registration_message,
)
from verity_worker.canonical import canonical_bytes  # noqa: E402
from verity_worker.client import BlobError, HttpClient  # noqa: E402

ISO = re.compile(r'^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$')


class FakeCoordinator:
    """Just enough of the server: hands out queued jobs and records every report."""

    def __init__(self):
        self.jobs = []
        self.reports = []
        self.heartbeat_state = {}
        self.heartbeats = 0
        self.unavailable = 0  # answer this many reports with `unavailable_status` first
        self.unavailable_status = 503
        self.retry_after = None
        self.blobs = {}
        self.corrupt = False
        self.registered = None
        self.deregistered = False
        self.lock = threading.Lock()
        self.changed = threading.Condition(self.lock)
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def send(self, status, body=None, raw=None):
                data = raw if raw is not None else (b'' if body is None else json.dumps(body).encode())
                self.send_response(status)
                self.send_header('content-length', str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                match = re.match(r'^/v1/worker/jobs/[^/]+/blobs/(sha256:[0-9a-f]{64})\?workerId=w1$', self.path)
                if not match or match.group(1) not in fake.blobs:
                    return self.send(404, {'error': {'message': 'no such blob'}})
                data = fake.blobs[match.group(1)]
                self.send(200, raw=data + b'!' if fake.corrupt else data)

            def do_POST(self):
                data = self.rfile.read(int(self.headers['content-length']))
                assert self.headers['authorization'] == 'Bearer key'
                if self.path.startswith('/v1/worker/blobs?'):
                    digest = blob_digest(data)
                    fake.blobs[digest] = data
                    return self.send(
                        201, {'$blob': digest, 'size': len(data), 'mediaType': self.headers['content-type']}
                    )
                body = json.loads(data)
                path = self.path[len('/v1/worker/'):]
                if path == 'challenge':
                    return self.send(200, {'challenge': 'challenge-1'})
                if path == 'register':
                    key = Ed25519PublicKey.from_public_bytes(
                        base64.b64decode(''.join(body['publicKeyPem'].splitlines()[1:-1]))[12:]
                    )
                    key.verify(base64.b64decode(body['signature']), registration_message(body['challenge']))
                    fake.registered = body
                    return self.send(201, {'workerId': 'w1', 'leaseMs': 300})
                if path == 'claim':
                    deadline = time.time() + body['waitMs'] / 1000
                    with fake.changed:
                        while not fake.jobs and time.time() < deadline:
                            fake.changed.wait(deadline - time.time())
                        job = fake.jobs.pop(0) if fake.jobs else None
                    return self.send(200, job) if job else self.send(204)
                if path in ('seen',):
                    return self.send(204)
                if path == 'deregister':
                    fake.deregistered = True
                    return self.send(204)
                kind = path.rsplit('/', 1)[1]
                if kind == 'heartbeat':
                    fake.heartbeats += 1
                    return self.send(200, {'state': fake.heartbeat_state.get(path.split('/')[1], 'ok')})
                with fake.changed:
                    if fake.unavailable > 0:
                        fake.unavailable -= 1
                        data = json.dumps({'error': {'message': 'busy'}}).encode()
                        self.send_response(fake.unavailable_status)
                        if fake.retry_after is not None:
                            self.send_header('retry-after', fake.retry_after)
                        self.send_header('content-length', str(len(data)))
                        self.end_headers()
                        self.wfile.write(data)
                        return
                    fake.reports.append((kind, path.split('/')[1], body))
                    fake.changed.notify_all()
                self.send(200, {'accepted': True})

        self.server = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
        self.url = f'http://127.0.0.1:{self.server.server_address[1]}'
        threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True).start()

    def queue(self, job):
        with self.changed:
            self.jobs.append(job)
            self.changed.notify_all()

    def wait_reports(self, count, timeout=10):
        with self.changed:
            self.changed.wait_for(lambda: len(self.reports) >= count, timeout)
            return list(self.reports)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


_counter = [0]


def make_job(model, input, step_type='inference', **spec):
    _counter[0] += 1
    now = int(time.time() * 1000)
    return {
        'jobId': f'job-{_counter[0]}',
        'executionId': 'exec-1',
        'stepId': f'step-{_counter[0]}',
        'attempt': 1,
        'nonce': f'nonce-{_counter[0]}',
        'stepType': step_type,
        'spec': {'workflowDigest': 'ab' * 32, 'stepType': step_type, 'model': {'name': model}, **spec},
        'input': input,
        'inputDigest': json_digest(input),
        'maxCost': 500,
        'assignedAt': now,
        'deadlineAt': now + 60_000,
        'leaseMs': 300,
        'started': True,
    }


@executor(name='t/echo', version='3', step_types=['inference', 'data_processing'])
def echo(input, ctx):
    return {'echo': input}


@executor(name='t/metered', version='1')
def metered(input, ctx):
    ctx.report_cost(42, usage={'tokens': 9})
    return 1.5


@executor(name='t/refuse')
def refuse(input, ctx):
    ctx.report_cost(3)
    raise ExecutorError('bad_input', 'no', retryable=False)


@executor(name='t/crash')
def crash(input, ctx):
    raise RuntimeError('boom')


@executor(name='t/wait')
def wait(input, ctx):
    cancelled = ctx.cancelled.wait(input['seconds'])
    return {'cancelled': cancelled}


@executor(name='t/big')
def big(input, ctx):
    return {'text': 'y' * (300 * 1024)}


@executor(name='t/blob')
def blob(input, ctx):
    return {'text': ctx.blobs.get(input['ref']).decode()}


class WorkerProtocol(unittest.TestCase):
    def setUp(self):
        self.fake = FakeCoordinator()
        self.signer = Signer.from_seed(bytes(range(32)))
        self.worker = Worker(
            HttpClient(self.fake.url, 'key', self.signer),
            [echo, metered, refuse, crash, wait, big, blob],
            self.signer,
            name='test',
            concurrency=2,
            poll_ms=50,
        )
        self.worker.start()

    def tearDown(self):
        self.worker.stop(0.5)
        self.fake.close()

    def run_job(self, job):
        before = len(self.fake.reports)
        self.fake.queue(job)
        reports = self.fake.wait_reports(before + 1)
        self.assertGreater(len(reports), before, 'no report came')
        return reports[before]

    def statement(self, body):
        envelope = body['attestation']
        payload = base64.b64decode(envelope['payload'])
        signature = base64.b64decode(envelope['signatures'][0]['sig'])
        Ed25519PublicKey.from_public_bytes(self.signer.public_key).verify(signature, pae(envelope['payloadType'], payload))
        self.assertEqual(envelope['signatures'][0]['keyid'], self.signer.key_id)
        statement = json.loads(payload)
        self.assertEqual(canonical_bytes(statement), payload)
        return statement

    def test_registers_its_executors_as_models_with_their_digests(self):
        capabilities = self.fake.registered['capabilities']
        self.assertEqual(capabilities['stepTypes'], [])
        self.assertEqual(capabilities['models'], sorted(['t/echo', 't/metered', 't/refuse', 't/crash', 't/wait', 't/big', 't/blob']))
        self.assertEqual(capabilities['modelDigests']['t/echo'], echo.digest)
        self.assertRegex(echo.digest, '^[0-9a-f]{64}$')
        self.assertEqual(self.fake.registered['concurrency'], 2)

    def test_completes_with_a_signed_attestation(self):
        job = make_job('t/echo', {'x': [1, 2.5, 'é']})
        kind, job_id, body = self.run_job(job)
        self.assertEqual((kind, job_id), ('complete', job['jobId']))
        self.assertEqual(body['output'], {'echo': {'x': [1, 2.5, 'é']}})
        self.assertEqual((body['workerId'], body['attempt'], body['nonce']), ('w1', 1, job['nonce']))
        statement = self.statement(body)
        p = statement['predicate']
        self.assertEqual(statement['subject'][0], {'name': f"step/{job['stepId']}/output", 'digest': {'sha256': p['outputDigest']}})
        self.assertEqual(p['outputDigest'], json_digest(body['output']))
        self.assertEqual(p['inputDigest'], job['inputDigest'])
        self.assertEqual(p['model'], {'name': 't/echo', 'version': '3', 'digest': echo.digest})
        self.assertEqual((p['executor'], p['workerId'], p['workerKeyId']), ('t/echo@3', 'w1', self.signer.key_id))
        self.assertEqual((p['jobNonce'], p['usage'], p['cost']), (job['nonce'], {}, 500))
        self.assertRegex(p['startedAt'], ISO)
        self.assertRegex(p['finishedAt'], ISO)

    def test_reported_cost_and_usage_are_attested(self):
        _, _, body = self.run_job(make_job('t/metered', None))
        self.assertEqual(body['output'], 1.5)
        p = self.statement(body)['predicate']
        self.assertEqual((p['cost'], p['usage']), (42, {'tokens': 9}))

    def test_executor_errors_keep_their_code_others_are_retryable(self):
        kind, _, body = self.run_job(make_job('t/refuse', {}))
        self.assertEqual(kind, 'fail')
        self.assertEqual(body['error'], {'code': 'bad_input', 'message': 'no', 'retryable': False})
        self.assertEqual(body['cost'], 3)
        kind, _, body = self.run_job(make_job('t/crash', {}))
        self.assertEqual(body['error']['code'], 'executor_error')
        self.assertTrue(body['error']['retryable'])
        self.assertIn('boom', body['error']['message'])

    def test_refuses_what_it_cannot_do_without_retry(self):
        cases = [
            (make_job('t/echo', {}, step_type='training'), 'bad_request'),
            (make_job('t/echo', {}, outputMappings={'a': 'echo'}), 'output_mappings_unsupported'),
            (make_job('t/echo', {}, zkLeaf=True), 'zk_key_required'),
        ]
        for job, code in cases:
            with self.subTest(code):
                kind, _, body = self.run_job(job)
                self.assertEqual(kind, 'fail')
                self.assertEqual(body['error']['code'], code)
                self.assertFalse(body['error']['retryable'])

    def test_refuses_another_version_than_the_step_asks_for_retryably(self):
        job = make_job('t/echo', {})
        job['spec']['model']['version'] = '9'
        kind, _, body = self.run_job(job)
        self.assertEqual(kind, 'fail')
        self.assertEqual(body['error']['code'], 'version_mismatch')
        self.assertTrue(body['error']['retryable'])
        self.assertIn('asks for t/echo 9; this worker has 3', body['error']['message'])

    def test_a_large_output_goes_as_a_blob(self):
        _, _, body = self.run_job(make_job('t/big', {}))
        self.assertNotIn('output', body)
        p = self.statement(body)['predicate']
        self.assertEqual(body['outputBlob']['$blob'], 'sha256:' + p['outputDigest'])
        self.assertEqual(body['outputBlob']['mediaType'], 'application/json')
        self.assertEqual(self.fake.blobs[body['outputBlob']['$blob']], canonical_bytes({'text': 'y' * (300 * 1024)}))

    def test_reads_blobs_and_checks_their_digest(self):
        data = b'some bytes'
        self.fake.blobs[blob_digest(data)] = data
        ref = {'$blob': blob_digest(data), 'size': len(data), 'mediaType': 'text/plain'}
        _, _, body = self.run_job(make_job('t/blob', {'ref': ref}))
        self.assertEqual(body['output'], {'text': 'some bytes'})
        self.fake.corrupt = True
        with self.assertRaises(BlobError) as raised:
            self.worker.client.blob_get('w1', 'job-x', ref)
        self.assertEqual(raised.exception.code, 'corrupt')

    def test_retries_a_report_the_server_could_not_take(self):
        self.fake.unavailable = 2
        kind, _, _ = self.run_job(make_job('t/echo', 1))
        self.assertEqual(kind, 'complete')
        # Rate limited: tried again after the Retry-After the server asked for.
        self.fake.unavailable, self.fake.unavailable_status, self.fake.retry_after = 1, 429, '0.3'
        started = time.time()
        kind, _, _ = self.run_job(make_job('t/echo', 2))
        self.assertEqual(kind, 'complete')
        self.assertGreaterEqual(time.time() - started, 0.3)

    def test_a_cancelled_or_lost_job_stops_and_is_not_reported(self):
        for state in ('cancelled', 'lost'):
            with self.subTest(state):
                job = make_job('t/wait', {'seconds': 30})
                self.fake.heartbeat_state[job['jobId']] = state
                self.fake.queue(job)
                deadline = time.time() + 5
                while self.worker.active_jobs == 0 and time.time() < deadline:
                    time.sleep(0.01)
                while self.worker.active_jobs > 0 and time.time() < deadline:
                    time.sleep(0.01)
                self.assertEqual(self.worker.active_jobs, 0)
                self.assertGreaterEqual(self.fake.heartbeats, 1)
        time.sleep(0.2)
        self.assertEqual(self.fake.reports, [])

    def test_a_job_past_its_deadline_fails_step_timeout(self):
        job = make_job('t/wait', {'seconds': 30})
        job['deadlineAt'] = job['assignedAt'] + 200
        _, _, body = self.run_job(job)
        self.assertEqual(body['error']['code'], 'step_timeout')
        self.assertTrue(body['error']['retryable'])


class Shutdown(unittest.TestCase):
    def test_drains_then_hands_back_what_is_left_and_deregisters(self):
        fake = FakeCoordinator()
        signer = Signer.from_seed(bytes(32))
        worker = Worker(HttpClient(fake.url, 'key', signer), [wait], signer, concurrency=2, poll_ms=50)
        worker.start()
        fake.queue(make_job('t/wait', {'seconds': 0.3}))
        fake.queue(make_job('t/wait', {'seconds': 30}))
        deadline = time.time() + 5
        while worker.active_jobs < 2 and time.time() < deadline:
            time.sleep(0.01)
        started = time.time()
        worker.stop(1.0)
        self.assertLess(time.time() - started, 5)
        # The short job finished in the drain; the long one was stopped and left to the coordinator.
        self.assertEqual([r[0] for r in fake.reports], ['complete'])
        self.assertTrue(fake.deregistered)
        fake.close()


class KeyFile(unittest.TestCase):
    def test_created_private_on_first_run_and_reused(self):
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, 'keys', 'worker.key')
            first = load_or_create_signer(path)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path, 'rb') as f:
                self.assertTrue(f.read().startswith(b'-----BEGIN PRIVATE KEY-----\n'))
            self.assertEqual(load_or_create_signer(path).key_id, first.key_id)
            self.assertTrue(os.path.exists(os.path.join(directory, 'keys', 'worker.pub')))
            os.chmod(path, 0o644)
            with self.assertRaises(KeyFileError):
                load_or_create_signer(path)


if __name__ == '__main__':
    unittest.main()
