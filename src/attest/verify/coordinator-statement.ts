import type { z } from 'zod';
import { checkEnvelopeSignature } from '../dsse.js';
import type { Envelope } from '../dsse.js';
import { readStatement } from '../statement.js';
import type { Statement } from '../statement.js';
import type { Checks } from './report.js';

/**
 * A statement the coordinator signed (the receipt, the zk statement): one signature by a trusted
 * coordinator key, then a well-formed statement of the expected predicate type. Records both checks under
 * the names given, and returns the statement only when both hold: nothing else of a bundle is looked at on
 * the word of a statement no trusted key signed (no expression runs, no proof is checked, no hash chain is
 * computed), so a stranger's bundle costs its reader two parses and a signature check.
 */
export async function checkCoordinatorStatement<S extends z.ZodType>(
  envelope: Envelope,
  trusted: ReadonlyMap<string, Uint8Array>,
  checks: Checks,
  names: { signature: string; statement: string; what: string },
  predicateType: string,
  predicateSchema: S,
): Promise<Statement<z.output<S>> | undefined> {
  const signer = envelope.signatures[0]?.keyid ?? '(none)';
  const coordinatorKey = trusted.get(signer);
  let signed = false;
  if (!coordinatorKey) {
    checks.fail(names.signature, `${names.what} is signed by keyid ${signer}, which is not a trusted coordinator key`);
  } else {
    const signature = await checkEnvelopeSignature(envelope, signer, coordinatorKey);
    signed = signature.ok;
    checks.expect(
      names.signature,
      signature.ok,
      `signed by trusted coordinator key ${signer}`,
      signature.ok ? '' : signature.reason,
    );
  }
  let statement: Statement<z.output<S>>;
  try {
    statement = readStatement(envelope, predicateType, predicateSchema);
    checks.pass(names.statement, `an in-toto Statement v1 with predicate ${predicateType}`);
  } catch (error) {
    checks.fail(names.statement, (error as Error).message);
    return undefined;
  }
  return signed ? statement : undefined;
}
