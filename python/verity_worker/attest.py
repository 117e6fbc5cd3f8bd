"""Digests, DSSE envelopes, keys and the step attestation, as src/attest/ in the TypeScript code has them."""

import base64
import hashlib
import os
import re
import time

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .canonical import canonical_bytes, utf8

IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json'
STATEMENT_TYPE = 'https://in-toto.io/Statement/v1'
STEP_PREDICATE_TYPE = 'https://verity.dev/attestation/step/v1'
REGISTRATION_CONTEXT = 'verity-worker-registration\n'

# DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the raw 32-byte key follows it.
_ED25519_SPKI_PREFIX = bytes.fromhex('302a300506032b6570032100')


def sha256_hex(data):
    """Lowercase hex SHA-256 of bytes, or of a str as UTF-8."""
    if isinstance(data, str):
        data = utf8(data)
    return hashlib.sha256(data).hexdigest()


def json_digest(value):
    """The digest of a JSON value: SHA-256 of its RFC 8785 canonical form."""
    return sha256_hex(canonical_bytes(value))


def blob_digest(data):
    """How a blob is named: `sha256:<hex>` of its bytes."""
    return 'sha256:' + sha256_hex(data)


def to_base64(data):
    return base64.b64encode(data).decode('ascii')


def pae(payload_type, body):
    """DSSE's pre-authentication encoding: "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, lengths in bytes."""
    kind = payload_type.encode('utf-8')
    return b'DSSEv1 %d %s %d %s' % (len(kind), kind, len(body), body)


class Signer:
    """An Ed25519 key held by this process."""

    def __init__(self, private_key):
        self._key = private_key
        self.public_key = private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        self.key_id = key_id_of(self.public_key)

    @classmethod
    def from_seed(cls, seed):
        return cls(Ed25519PrivateKey.from_private_bytes(seed))

    @classmethod
    def from_pem(cls, pem):
        key = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError('expected an Ed25519 private key')
        return cls(key)

    def private_key_pem(self):
        return self._key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def public_key_pem(self):
        return public_key_to_pem(self.public_key)

    def sign(self, message):
        return self._key.sign(message)


def key_id_of(public_key):
    """A keyid: lowercase hex SHA-256 of the raw 32-byte public key."""
    if len(public_key) != 32:
        raise ValueError('an Ed25519 public key is 32 bytes')
    return sha256_hex(public_key)


def public_key_to_pem(public_key):
    body = to_base64(_ED25519_SPKI_PREFIX + public_key)
    return f'-----BEGIN PUBLIC KEY-----\n{body}\n-----END PUBLIC KEY-----\n'


def load_or_create_signer(path):
    """The key in `path` (PKCS#8 PEM), created on first use with mode 0600, as the TypeScript worker keeps its own."""
    if os.path.exists(path):
        return _read_signer(path)
    os.makedirs(os.path.dirname(path) or '.', mode=0o700, exist_ok=True)
    signer = Signer(Ed25519PrivateKey.generate())
    temporary = f'{path}.{os.getpid()}.tmp'
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, 'wb') as f:
        f.write(signer.private_key_pem())
    try:
        # A link creates the file complete or not at all: two workers starting at once end up with one key.
        os.link(temporary, path)
    except FileExistsError:
        os.unlink(temporary)
        return _read_signer(path)
    os.unlink(temporary)
    with open(re.sub(r'\.key$', '', path) + '.pub', 'w') as f:
        f.write(signer.public_key_pem)
    return signer


class KeyFileError(Exception):
    pass


def _read_signer(path):
    mode = os.stat(path).st_mode & 0o777
    if mode & 0o077:
        # A private key others can read is refused, as ssh refuses one.
        raise KeyFileError(f'private key {path} is readable by others (mode {mode:o}); run chmod 600 {path}')
    with open(path, 'rb') as f:
        return Signer.from_pem(f.read())


def registration_message(challenge):
    """What a worker signs to register: the challenge under a fixed context, so it cannot pass for anything else."""
    return (REGISTRATION_CONTEXT + challenge).encode('utf-8')


def iso_time(millis=None):
    """A time (milliseconds since the epoch; default now) as JavaScript's toISOString writes it: UTC, ms, Z."""
    if millis is None:
        millis = time.time_ns() // 1_000_000
    whole, ms = divmod(millis, 1000)
    return time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(whole)) + '.%03dZ' % ms


def job_predicate(job, facts):
    """The step predicate for a job: its own fields, the digest of the input as received, and the facts of the run."""
    predicate = {
        'executionId': job['executionId'],
        'workflowDigest': job['spec']['workflowDigest'],
        'stepId': job['stepId'],
        'attempt': job['attempt'],
        'jobId': job['jobId'],
        'jobNonce': job['nonce'],
        # Computed here rather than taken on the coordinator's word.
        'inputDigest': json_digest(job.get('input')),
    }
    predicate.update(facts)
    return predicate


def step_statement(predicate):
    return {
        '_type': STATEMENT_TYPE,
        'subject': [
            {'name': f"step/{predicate['stepId']}/output", 'digest': {'sha256': predicate['outputDigest']}}
        ],
        'predicateType': STEP_PREDICATE_TYPE,
        'predicate': predicate,
    }


def sign_envelope(payload_type, payload, signer):
    return {
        'payloadType': payload_type,
        'payload': to_base64(payload),
        'signatures': [{'keyid': signer.key_id, 'sig': to_base64(signer.sign(pae(payload_type, payload)))}],
    }


def attest_step(job, facts, signer):
    """The DSSE envelope of the in-toto statement about one job, signed by the worker."""
    statement = step_statement(job_predicate(job, facts))
    return sign_envelope(IN_TOTO_PAYLOAD_TYPE, canonical_bytes(statement), signer)
