import { verifyBundle } from '../attest/verify/verify-bundle.js';
import type { VerificationReport } from '../attest/verify/report.js';
import { ProcessEvaluator } from '../expressions/node/process-evaluator.js';
import { installNodeCrypto } from '../keys/node-crypto.js';
import { serveChild } from './child-main.js';

/** A verification the server runs for a client: the bundle and the options the verifier takes over the wire. */
export interface VerifyRequest {
  bundle: unknown;
  trustedKeys: string[];
  level: 'basic' | 'full' | 'zk';
  zkVerificationKeys?: unknown[];
}

installNodeCrypto();
// Level full's expressions run one level further down, so that one bad expression fails its own check
// rather than the whole verification.
const evaluator = new ProcessEvaluator({ name: 'verifier expression evaluator', processes: 1, maxQueue: 1_000 });

serveChild<VerifyRequest, VerificationReport>((request) =>
  verifyBundle(request.bundle, {
    trustedKeys: request.trustedKeys,
    level: request.level,
    evaluator,
    ...(request.zkVerificationKeys && { zkVerificationKeys: request.zkVerificationKeys }),
  }),
);
