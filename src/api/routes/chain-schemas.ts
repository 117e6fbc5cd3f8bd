import { z } from 'zod';
import { envelope } from '../schemas.js';

/** The request and response shapes of the chain routes (routes/chain.ts), for validation and OpenAPI. */

const chainId = z.int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'the EVM chain id' });
const address = z
  .string()
  .max(42)
  .regex(/^0x[0-9a-fA-F]{40}$/, 'must be an address: 0x and 40 hex digits')
  .meta({ description: 'an EVM address (EIP-55 checksummed in answers)' });
const signature = z
  .string()
  .max(132)
  .regex(/^0x[0-9a-fA-F]{130}$/, 'must be a 65-byte signature: 0x and 130 hex digits')
  .meta({ description: "the address key's EIP-712 signature of the AddressBinding message" });

export const chainIdQuery = z.strictObject({
  chain_id: z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).meta({ description: 'the EVM chain id' }),
});

const tlog = z.object({
  origin: z.string(),
  logIndex: z.int(),
  treeSize: z.int(),
  inclusionProof: z.array(z.string()),
  checkpoint: z.string(),
});

export const chainDeploymentList = z
  .object({
    deployments: z.array(
      z.object({
        chain_id: chainId,
        token: address,
        settlement: address,
        attestor: address,
        admin: address,
        attestor_binding: z.object({
          statement: envelope.meta({
            description:
              'the coordinator-signed attestor-binding statement (https://verity.dev/attestation/chain-attestor/v1)',
          }),
          log_index: z.int(),
          tlog: tlog.meta({ description: 'its inclusion proof under a signed checkpoint, as in a receipt bundle' }),
        }),
      }),
    ),
  })
  .meta({ id: 'ChainDeployments' });

export const addressBindingRequest = z
  .strictObject({
    chain_id: chainId,
    address,
    signature,
    principal: z
      .string()
      .min(1)
      .max(200)
      .optional()
      .meta({ description: "the ledger account to bind: the caller's own (default), or sys:platform for an admin" }),
  })
  .meta({ id: 'AddressBindingRequest' });

export const addressBindingView = z
  .object({
    chain_id: chainId,
    principal: z.string().meta({ description: 'the ledger account bound' }),
    address,
    settlement: address,
    signature,
    statement: envelope.meta({
      description:
        'the coordinator-signed address-binding statement (https://verity.dev/attestation/address-binding/v1)',
    }),
    log_index: z.int(),
    bound_at: z.string(),
  })
  .meta({ id: 'AddressBinding' });

export const addressBindingList = z.object({ bindings: z.array(addressBindingView) });

export const adminAddressBindingList = z
  .object({
    bindings: z.array(z.object({ principal: z.string(), address, signature, log_index: z.int() })),
  })
  .meta({ id: 'ChainBindings' });
