import { z } from 'zod';
import type { Envelope } from './dsse.js';
import { batchProofSchema } from './zk/proof.js';

/**
 * The bundle: one JSON document with everything needed to check an execution offline, given the
 * coordinator's public key. docs/receipts.md documents it.
 */
export const BUNDLE_MEDIA_TYPE = 'application/vnd.verity.bundle.v1+json';
/**
 * Version 2 adds `settlements`: the signed settlement statements of an execution run through a marketplace
 * listing. A bundle without settlements stays version 1, so what verified before still does, everywhere; a
 * verifier from before version 2 refuses a version 2 bundle by its media type rather than skip its money.
 */
export const BUNDLE_V2_MEDIA_TYPE = 'application/vnd.verity.bundle.v2+json';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

/** A DSSE envelope's shape (its signatures are checked apart). */
export const envelopeSchema = z.strictObject({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.strictObject({ keyid: z.string(), sig: z.string() })),
});

/** Where a signed statement sits in the transparency log, under a signed checkpoint. */
export const tlogSchema = z.strictObject({
  origin: z.string().min(1),
  logIndex: z.int().min(0),
  treeSize: z.int().min(1),
  inclusionProof: z.array(hex64),
  checkpoint: z.string(),
});

/**
 * The zero-knowledge part: the coordinator's zk statement, the batch proofs, and the verification key
 * they verify under (trusted only if its digest is the one the signed statement names, or one pinned).
 */
const zkPartSchema = z.strictObject({
  statement: envelopeSchema,
  verificationKey: z.record(z.string(), z.unknown()),
  proofs: z.array(batchProofSchema),
});

/** A statement the coordinator signed (a settlement, a binding), and its own place in the transparency log. */
export const loggedStatementSchema = z.strictObject({
  statement: envelopeSchema,
  tlog: tlogSchema,
});

export const bundleSchema = z
  .strictObject({
    mediaType: z.enum([BUNDLE_MEDIA_TYPE, BUNDLE_V2_MEDIA_TYPE]),
    receipt: envelopeSchema,
    attestations: z.array(envelopeSchema),
    keys: z.array(z.strictObject({ keyid: hex64, role: z.enum(['coordinator', 'worker']), publicKeyPem: z.string() })),
    tlog: tlogSchema,
    zk: zkPartSchema.optional(),
    data: z
      .strictObject({
        /** The normalized workflow definition the receipt names by digest. */
        workflow: z.record(z.string(), z.unknown()),
        inputs: z.unknown(),
        /** Each completed step's resolved input and its output. */
        steps: z.record(z.string(), z.strictObject({ input: z.unknown(), output: z.unknown() })),
      })
      .optional(),
    /** Version 2: every settlement statement of the execution, in revision order. */
    settlements: z.array(loggedStatementSchema).min(1).max(1_000).optional(),
  })
  .refine((b) => (b.mediaType === BUNDLE_V2_MEDIA_TYPE) === (b.settlements !== undefined), {
    message: `settlements come with media type ${BUNDLE_V2_MEDIA_TYPE}, and only with it`,
    path: ['settlements'],
  });

export type BundleSettlement = z.output<typeof loggedStatementSchema> & { statement: Envelope };
export type Bundle = z.output<typeof bundleSchema> & {
  receipt: Envelope;
  attestations: Envelope[];
  settlements?: BundleSettlement[];
};
export type BundleZk = z.output<typeof zkPartSchema> & { statement: Envelope };
export type BundleTlog = z.output<typeof tlogSchema>;

/**
 * A zk-only bundle: what the zero-knowledge level needs and nothing more. No receipt (its step list names
 * digests and worker keys), no attestations, no data: the zk statement stands in for the receipt, and the
 * log entry proves the receipt it names was published.
 */
export const ZK_BUNDLE_MEDIA_TYPE = 'application/vnd.verity.zk-bundle.v1+json';

export const zkBundleSchema = z.strictObject({
  mediaType: z.literal(ZK_BUNDLE_MEDIA_TYPE),
  keys: z.array(z.strictObject({ keyid: hex64, role: z.literal('coordinator'), publicKeyPem: z.string() })),
  tlog: tlogSchema,
  zk: zkPartSchema,
});

export type ZkBundle = z.output<typeof zkBundleSchema> & { zk: BundleZk };
export type BundleKey = Bundle['keys'][number];
