"""The worker protocol over HTTP, as src/worker/http-client.ts speaks it."""

import json
import time
import urllib.error
import urllib.parse
import urllib.request

from .attest import blob_digest, registration_message, to_base64

# How often a job's start or result is tried again while the server is briefly unavailable (about 8 s).
REPORT_RETRIES = 5


class WorkerHttpError(Exception):
    def __init__(self, code, message, status=None):
        super().__init__(message)
        self.code = code
        self.status = status


class BlobError(Exception):
    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


def _quote(text):
    return urllib.parse.quote(text, safe='')


def _error_message(body):
    if isinstance(body, dict) and isinstance(body.get('error'), dict):
        return str(body['error'].get('message', ''))
    return ''


class HttpClient:
    def __init__(self, server, api_key, signer):
        self.base = server.rstrip('/')
        self.api_key = api_key
        self.signer = signer

    def _once(self, path, body, timeout):
        data = body if isinstance(body, bytes) else json.dumps({} if body is None else body, allow_nan=False).encode('utf-8')
        request = urllib.request.Request(
            f'{self.base}/v1{path}',
            data=data,
            method='POST',
            headers={'authorization': f'Bearer {self.api_key}', 'content-type': 'application/json'},
        )
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                status, headers, text = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, headers, text = error.code, error.headers, error.read()
        except (OSError, urllib.error.URLError) as error:
            raise WorkerHttpError('unreachable', f'cannot reach {self.base}: {error}') from error
        try:
            parsed = json.loads(text) if text else None
        except ValueError:
            parsed = None
        retry_after = None
        try:
            seconds = float(headers.get('retry-after') or '')
            if seconds > 0:
                retry_after = seconds
        except ValueError:
            pass
        return status, parsed, retry_after

    def call(self, path, body, timeout=30.0, retries=0):
        """A request, tried again (up to `retries` times) on 429 (after Retry-After), 503, or no connection."""
        attempt = 0
        while True:
            last = attempt >= retries
            backoff = min(0.25 * 2**attempt, 5.0)
            try:
                status, parsed, retry_after = self._once(path, body, timeout)
            except WorkerHttpError:
                if last:
                    raise
                time.sleep(backoff)
                attempt += 1
                continue
            if last or status not in (429, 503):
                return status, parsed
            time.sleep(min(retry_after if retry_after is not None else backoff, 30.0))
            attempt += 1

    def ok(self, path, body, accept, timeout=30.0):
        status, parsed = self.call(path, body, timeout)
        if status not in accept:
            raise WorkerHttpError('http', f'{path}: {status} {_error_message(parsed)}'.strip(), status)
        return status, parsed

    def register(self, name, public_key_pem, capabilities, concurrency):
        _, challenge = self.ok('/worker/challenge', {}, (200,))
        token = challenge['challenge']
        _, body = self.ok(
            '/worker/register',
            {
                'name': name,
                'publicKeyPem': public_key_pem,
                'capabilities': capabilities,
                'concurrency': concurrency,
                'challenge': token,
                'signature': to_base64(self.signer.sign(registration_message(token))),
            },
            (201,),
        )
        return body['workerId'], body['leaseMs']

    def claim(self, worker_id, wait_ms):
        # Claimed and started at once: the job is RUNNING when it arrives, one round trip fewer.
        status, body = self.ok(
            '/worker/claim', {'workerId': worker_id, 'waitMs': wait_ms, 'start': True}, (200, 204), wait_ms / 1000 + 30
        )
        return body if status == 200 else None

    def _job(self, job_id, what):
        return f'/worker/jobs/{_quote(job_id)}/{what}'

    def start(self, report):
        status, _ = self.call(self._job(report['jobId'], 'start'), _ids(report), retries=REPORT_RETRIES)
        return status == 204

    def heartbeat(self, report):
        _, body = self.ok(self._job(report['jobId'], 'heartbeat'), _ids(report), (200,))
        return body['state']

    def complete(self, report, attestation, canonical_output=None, output_blob=None):
        """A result: the output as its canonical JSON bytes (inline), or the blob that holds them."""
        body = _ids(report)
        body['attestation'] = attestation
        if output_blob is not None:
            body['outputBlob'] = output_blob
            data = json.dumps(body).encode('utf-8')
        else:
            # The very bytes whose digest the attestation signs: the server parses what was hashed, never a
            # second serialization that could differ from it.
            data = json.dumps(body).encode('utf-8')[:-1] + b',"output":' + canonical_output + b'}'
        return self._outcome(self._job(report['jobId'], 'complete'), data)

    def fail(self, report, error, cost=None):
        body = _ids(report)
        body['error'] = error
        if cost is not None:
            body['cost'] = cost
        return self._outcome(self._job(report['jobId'], 'fail'), body)

    def _outcome(self, path, body):
        # Safe to repeat: the server takes one result per job and answers a repeat `already_finished`.
        status, answer = self.call(path, body, retries=REPORT_RETRIES)
        if not isinstance(answer, dict) or not isinstance(answer.get('accepted'), bool):
            raise WorkerHttpError('http', f'{path}: {status} without an outcome', status)
        return answer

    def seen(self, worker_id):
        self.ok('/worker/seen', {'workerId': worker_id}, (204,))

    def deregister(self, worker_id):
        self.ok('/worker/deregister', {'workerId': worker_id}, (204,))

    def _blob_request(self, path, method, data=None, headers=None):
        request = urllib.request.Request(
            f'{self.base}/v1{path}',
            data=data,
            method=method,
            headers={'authorization': f'Bearer {self.api_key}', **(headers or {})},
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.read()
        except (OSError, urllib.error.URLError) as error:
            raise BlobError('unavailable', f'cannot reach {self.base}: {error}') from error

    def blob_get(self, worker_id, job_id, ref):
        digest = ref.get('$blob') if isinstance(ref, dict) else ref
        if not isinstance(digest, str) or not _is_blob_digest(digest):
            raise BlobError(
                'invalid_ref', 'a blob is named by "sha256:<64 hex digits>" or a reference {"$blob": "sha256:…", …}'
            )
        status, data = self._blob_request(
            f'/worker/jobs/{_quote(job_id)}/blobs/{digest}?workerId={_quote(worker_id)}', 'GET'
        )
        if status != 200:
            raise _blob_refusal(status, data, digest)
        # The server is not trusted with the bytes either: they must be the ones the digest names.
        if blob_digest(data) != digest:
            raise BlobError('corrupt', f'the server sent bytes that do not match {digest}')
        return data

    def blob_put(self, worker_id, job_id, data, media_type):
        # For this job: the server grants the blob to it, so the job's output may name it.
        status, body = self._blob_request(
            f'/worker/blobs?workerId={_quote(worker_id)}&jobId={_quote(job_id)}',
            'POST',
            bytes(data),
            {'content-type': media_type},
        )
        if status != 201:
            raise _blob_refusal(status, body, 'a new blob')
        ref = json.loads(body)
        if not isinstance(ref, dict) or not _is_blob_digest(ref.get('$blob')):
            raise BlobError('unavailable', 'the server answered a blob upload without a blob reference')
        return ref


def _ids(report):
    return {'workerId': report['workerId'], 'attempt': report['attempt'], 'nonce': report['nonce']}


def _is_blob_digest(value):
    return (
        isinstance(value, str)
        and len(value) == 71
        and value.startswith('sha256:')
        and all(c in '0123456789abcdef' for c in value[7:])
    )


def _blob_refusal(status, body, what):
    try:
        message = _error_message(json.loads(body))
    except ValueError:
        message = ''
    code = {404: 'not_found', 403: 'forbidden', 413: 'too_large'}.get(status, 'unavailable')
    return BlobError(code, f'blob {what}: {status} {message}'.strip())
