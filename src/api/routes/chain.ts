import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { z } from 'zod';
import { BindingError } from '../../chain/binding-errors.js';
import { bindAddress, ensureAttestorBindings, knownDeployment } from '../../chain/bindings.js';
import type { BindingContext } from '../../chain/bindings.js';
import { PLATFORM_ACCOUNT } from '../../ledger/accounts.js';
import type { ChainAddressBindingRecord } from '../../store/records.js';
import { ROLES } from '../../store/records.js';
import { CLIENT_ROLES, principalOf } from '../auth.js';
import { ApiError } from '../errors.js';
import type { ApiContext } from '../server.js';
import {
  addressBindingList,
  addressBindingRequest,
  addressBindingView,
  adminAddressBindingList,
  chainDeploymentList,
  chainIdQuery,
  errorBody,
} from '../schemas.js';

const tags = ['chain'];

/** A caller may bind at most this many addresses a minute: each costs a signature recovery and a log entry. */
const BINDS_PER_MINUTE = 60;
/** The most bindings one read returns: one per principal, and no chain has more principals than this page. */
const MAX_BINDINGS = 10_000;

/**
 * Binding keys and names (docs/chain.md): the deployments this coordinator speaks for, with its signed
 * attestor-binding statement, and the EVM address each principal binds to its ledger account. A principal
 * binds and reads only its own account; nobody but an admin reads another's.
 */
export function registerChainRoutes(app: FastifyInstance, context: ApiContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const { node } = context;
  const bindings = bindingContext(context);
  const logInvalid = (error: BindingError) => app.log.warn({ err: error }, 'a deployment record is unusable');

  // At start, for the records present; the routes ensure it again for records written since.
  app.addHook('onReady', async () => {
    try {
      await ensureAttestorBindings(bindings, logInvalid);
    } catch (error) {
      app.log.error({ err: error }, 'could not make the attestor-binding statements');
    }
  });

  api.get('/chain/deployments', {
    config: { roles: ROLES },
    schema: {
      operationId: 'listChainDeployments',
      tags,
      summary: 'The deployments this coordinator speaks for, each with its signed attestor-binding statement',
      description:
        "A deployment is a `verity chain deploy` record in the server's data directory whose attestor is the data directory's attestor key. Each comes with the coordinator's attestor-binding statement (a DSSE envelope, predicate https://verity.dev/attestation/chain-attestor/v1), its log index, and an inclusion proof under a signed checkpoint, as a receipt bundle's `tlog`: check it with the coordinator key alone.",
      response: { 200: chainDeploymentList },
    },
    handler: async () => {
      const known = await ensureAttestorBindings(bindings, logInvalid);
      const checkpoint = await node.log.checkpoint();
      const deployments = [];
      for (const { deployment, binding } of known) {
        const inclusion = await node.log.inclusionProof(binding.logIndex, checkpoint.size);
        deployments.push({
          chain_id: deployment.chainId,
          token: deployment.token,
          settlement: deployment.settlement,
          attestor: deployment.attestor,
          admin: deployment.admin,
          attestor_binding: {
            statement: binding.envelope,
            log_index: binding.logIndex,
            tlog: {
              origin: node.log.origin,
              logIndex: binding.logIndex,
              treeSize: checkpoint.size,
              inclusionProof: inclusion.proof,
              checkpoint: checkpoint.note,
            },
          },
        });
      }
      return { deployments };
    },
  });

  api.post('/chain/bindings', {
    // Not worker keys: a worker key sits on a machine that runs others' jobs, and must not be able to redirect
    // its principal's payouts; the principal binds with a client key of the same name.
    config: { roles: CLIENT_ROLES, rateLimit: { max: BINDS_PER_MINUTE, timeWindow: 60_000 } },
    schema: {
      operationId: 'bindChainAddress',
      tags,
      summary: "Bind an EVM address to the caller's ledger account on one chain",
      description:
        "The signature is the address's EIP-712 signature of AddressBinding(principal = keccak256(utf8(account name)), account = address) in the escrow's domain (VeritySettlement, version 1, the chain id, the settlement contract). The coordinator signs an address-binding statement (predicate https://verity.dev/attestation/address-binding/v1) and appends it to the transparency log. A new address replaces the account's current one (201); the same address again returns the current binding (200) and logs nothing. An admin may pass principal `sys:platform` to bind the platform's fee account; nobody binds another principal's account (404). An unknown chain id is a 404 naming it.",
      body: addressBindingRequest,
      response: { 200: addressBindingView, 201: addressBindingView, 400: errorBody, 404: errorBody, 409: errorBody },
    },
    handler: async (request, reply) => {
      const account = bindingAccount(request, request.body.principal);
      const { record, created } = await answering(() =>
        bindAddress(bindings, {
          chainId: request.body.chain_id,
          account,
          address: request.body.address,
          signature: request.body.signature,
          actor: `client:${principalOf(request).principal}`,
        }),
      );
      return reply.code(created ? 201 : 200).send(bindingView(record));
    },
  });

  api.get('/chain/bindings', {
    config: { roles: CLIENT_ROLES },
    schema: {
      operationId: 'listChainBindings',
      tags,
      summary: "The caller's own current address binding on a chain (none, or one)",
      querystring: chainIdQuery,
      response: { 200: addressBindingList, 400: errorBody, 404: errorBody },
    },
    handler: async (request) => {
      const chainId = request.query.chain_id;
      await answering(() => Promise.resolve(knownDeployment(bindings.dataDir, chainId)));
      const own = await node.store.read.listChainAddressBindings(chainId, {
        account: principalOf(request).principal,
        limit: 1,
      });
      return { bindings: own.map(bindingView) };
    },
  });

  api.get('/admin/chain-bindings', {
    config: { roles: ['admin'] },
    schema: {
      operationId: 'listAllChainBindings',
      tags,
      summary: 'Every current address binding on a chain (admin): what `verity chain bind --file` registers on chain',
      querystring: chainIdQuery,
      response: { 200: adminAddressBindingList, 400: errorBody, 404: errorBody },
    },
    handler: async (request) => {
      const chainId = request.query.chain_id;
      await answering(() => Promise.resolve(knownDeployment(bindings.dataDir, chainId)));
      const all = await node.store.read.listChainAddressBindings(chainId, { limit: MAX_BINDINGS });
      return {
        bindings: all.map((b) => ({
          principal: b.account,
          address: b.address,
          signature: b.signature,
          log_index: b.logIndex,
        })),
      };
    },
  });
}

/**
 * The ledger account a binding request is for: the caller's own, or for an admin `sys:platform`. Another
 * principal's is a 404 for everyone else, as another's execution is: nobody learns whether it exists.
 */
function bindingAccount(request: FastifyRequest, asked: string | undefined): string {
  const key = principalOf(request);
  if (asked === undefined || asked === key.principal) return key.principal;
  if (key.role !== 'admin') throw new ApiError('not_found', `no ledger account ${asked} that this key may bind`);
  if (asked !== PLATFORM_ACCOUNT) {
    const message = `an admin binds its own account or ${PLATFORM_ACCOUNT}, not "${asked}": each principal binds its own`;
    throw new ApiError('validation', `body.principal: ${message}`, {
      issues: [{ field: 'body.principal', message }],
    });
  }
  return PLATFORM_ACCOUNT;
}

/** The binding errors a client caused, as API answers; anything else is the server's (a 500). */
async function answering<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (!(error instanceof BindingError)) throw error;
    switch (error.code) {
      case 'unknown_chain':
        throw new ApiError('not_found', error.message, { issues: [{ field: 'chain_id', message: error.message }] });
      case 'bad_signature':
        throw new ApiError('validation', `body.signature: ${error.message}`, {
          issues: [{ field: 'body.signature', message: error.message }],
        });
      case 'contended':
        throw new ApiError('conflict', error.message);
      default:
        throw error;
    }
  }
}

function bindingView(record: ChainAddressBindingRecord): z.output<typeof addressBindingView> {
  return {
    chain_id: record.chainId,
    principal: record.account,
    address: record.address,
    settlement: record.settlement,
    signature: record.signature,
    statement: record.envelope,
    log_index: record.logIndex,
    bound_at: new Date(record.createdAt).toISOString(),
  };
}

/** What the binding statements need of the node: its store, its log, the coordinator's key, its data directory. */
export function bindingContext({ node }: ApiContext): BindingContext {
  return { store: node.store, log: node.log, signer: node.coordinatorSigner, dataDir: node.options.dataDir };
}
