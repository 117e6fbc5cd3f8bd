"""The Python worker against the known answers of the TypeScript code (test/vectors/shared-vectors.json)."""

import base64
import json
import os
import struct
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))

from verity_worker.attest import (  # noqa: E402
    IN_TOTO_PAYLOAD_TYPE,
    Signer,
    attest_step,
    iso_time,
    job_predicate,
    json_digest,
    key_id_of,
    pae,
    public_key_to_pem,
    registration_message,
    sign_envelope,
    step_statement,
)
from verity_worker.canonical import canonical_bytes, canonical_json, format_number  # noqa: E402

with open(os.path.join(HERE, '..', '..', 'test', 'vectors', 'shared-vectors.json'), encoding='utf-8') as f:
    VECTORS = json.load(f)


class CanonicalJson(unittest.TestCase):
    def test_every_canonical_case(self):
        for case in VECTORS['canonical']:
            with self.subTest(case['name']):
                self.assertEqual(canonical_json(case['input']), case['canonical'])
                self.assertEqual(json_digest(case['input']), case['sha256'])

    def test_every_number_as_ecmascript_writes_it(self):
        for case in VECTORS['numbers']:
            with self.subTest(case['bits']):
                (number,) = struct.unpack('>d', bytes.fromhex(case['bits']))
                self.assertEqual(format_number(number), case['text'])

    def test_integers_beyond_2_53_are_the_double_javascript_reads(self):
        self.assertEqual(canonical_json(12345678901234567890), '12345678901234567000')
        self.assertEqual(canonical_json(2**53), '9007199254740992')
        self.assertEqual(canonical_json([True, False, None, 1.0]), '[true,false,null,1]')

    def test_number_subclasses_are_written_as_their_value(self):
        import enum
        import fractions

        class Level(enum.IntEnum):
            HIGH = 3

        self.assertEqual(canonical_json({'level': Level.HIGH, 'half': fractions.Fraction(1, 2)}), '{"half":0.5,"level":3}')
        with self.assertRaises(ValueError):
            canonical_json(10**400)

    def test_a_split_surrogate_pair_is_one_character(self):
        self.assertEqual(canonical_json('\ud83d\ude00'), '"😀"')
        self.assertEqual(canonical_bytes({'\ud800': 1}), b'{"\\ud800":1}')

    def test_refuses_what_json_cannot_hold(self):
        for bad in (float('nan'), float('inf'), {1: 'x'}, {'a': object()}, b'bytes'):
            with self.subTest(repr(bad)):
                with self.assertRaises((TypeError, ValueError)):
                    canonical_json(bad)


class Dsse(unittest.TestCase):
    def test_pae(self):
        for case in VECTORS['pae']:
            with self.subTest(case['payloadType']):
                self.assertEqual(pae(case['payloadType'], bytes.fromhex(case['body'])).hex(), case['pae'])


class Keys(unittest.TestCase):
    def test_rfc8032_signatures(self):
        for case in VECTORS['ed25519']:
            with self.subTest(case['seed']):
                signer = Signer.from_seed(bytes.fromhex(case['seed']))
                self.assertEqual(signer.public_key.hex(), case['publicKey'])
                self.assertEqual(signer.sign(bytes.fromhex(case['message'])).hex(), case['signature'])

    def test_key_ids_and_pems(self):
        for case in VECTORS['keys']:
            with self.subTest(case['seed']):
                signer = Signer.from_seed(bytes.fromhex(case['seed']))
                self.assertEqual(key_id_of(signer.public_key), case['keyId'])
                self.assertEqual(signer.key_id, case['keyId'])
                self.assertEqual(public_key_to_pem(signer.public_key), case['pem'])

    def test_a_private_key_pem_round_trips(self):
        signer = Signer.from_seed(bytes.fromhex(VECTORS['keys'][0]['seed']))
        again = Signer.from_pem(signer.private_key_pem())
        self.assertEqual(again.key_id, signer.key_id)
        self.assertTrue(signer.private_key_pem().startswith(b'-----BEGIN PRIVATE KEY-----'))

    def test_registration(self):
        case = VECTORS['registration']
        signer = Signer.from_seed(bytes.fromhex(case['seed']))
        message = registration_message(case['challenge'])
        self.assertEqual(message.hex(), case['message'])
        self.assertEqual(base64.b64encode(signer.sign(message)).decode(), case['signature'])


class Attestation(unittest.TestCase):
    def test_iso_times(self):
        for case in VECTORS['isoTimes']:
            with self.subTest(case['ms']):
                self.assertEqual(iso_time(case['ms']), case['iso'])

    def test_the_envelope_byte_for_byte(self):
        case = VECTORS['attestation']
        signer = Signer.from_seed(bytes.fromhex(case['seed']))
        self.assertEqual(job_predicate(case['job'], case['facts']), case['predicate'])
        statement = step_statement(job_predicate(case['job'], case['facts']))
        self.assertEqual(canonical_json(statement), case['statement'])
        self.assertEqual(attest_step(case['job'], case['facts'], signer), case['envelope'])
        self.assertEqual(
            sign_envelope(IN_TOTO_PAYLOAD_TYPE, case['statement'].encode('utf-8'), signer), case['envelope']
        )


if __name__ == '__main__':
    unittest.main()
