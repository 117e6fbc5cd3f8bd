import { z } from 'zod';
import type { createListingRequest, updateListingRequest, settlementView } from '../api/schemas.js';
import {
  addressBindingList,
  addressBindingView,
  adminAddressBindingList,
  chainDeploymentList,
} from '../api/schemas.js';
import type { addressBindingRequest } from '../api/schemas.js';
import {
  apiKeyView,
  whoAmI,
  blobRef as blobRefSchema,
  checkpointResponse,
  consistencyResponse,
  coordinatorKey,
  createdKey,
  executionList,
  executionListItem,
  eventView,
  executionView,
  historyPage,
  inclusionResponse,
  executionSettlements,
  chainPaymentsResponse,
  ledgerBalance,
  ledgerTransaction,
  ledgerTransactionPage,
  listingPage,
  listingView,
  metricsSummary,
  settlementPage,
  ratingPage,
  ratingSchema,
  subscriptionList,
  stepDetail,
  executionGraph,
  subscriptionSchema,
  validationResult,
  verificationReport,
  workerView,
  workflowDetail,
  workflowVersion,
} from '../api/schemas.js';
import { digestOfBytes } from '../blobs/blob-ref.js';
import type { BlobRef } from '../blobs/blob-ref.js';
import type { EventView, ExecutionRowView, ExecutionView } from '../engine/view.js';
import { VerityError } from '../errors.js';

/**
 * The TypeScript client of the Verity API. Responses are checked against the same zod schemas the server
 * validates with, so a client and a server that disagree fail loudly instead of quietly. The CLI uses this
 * client for everything it does against a server.
 */
export type { EventView, ExecutionView, StepSummary } from '../engine/view.js';

/** One row of a list of executions. */
export type ExecutionSummary = ExecutionRowView;

/** An event of the list stream: the row as it is now, and the id to resume after it. */
export interface ExecutionChange {
  id: string;
  execution: ExecutionSummary;
}

export interface ExecutionList {
  executions: ExecutionSummary[];
  /** Pass as `before` for the next page; absent on the last page. */
  next?: string;
}

export interface HistoryPage {
  events: (EventView & { cursor: string })[];
  /** Pass as `after` for the next page; absent on the last page. */
  next?: string;
}
export type WorkflowDetail = z.output<typeof workflowDetail>;
export type WorkflowSummary = z.output<typeof workflowVersion>;
export type ValidationResult = z.output<typeof validationResult>;
export type VerificationReport = z.output<typeof verificationReport>;
export type ApiKeyView = z.output<typeof apiKeyView>;
export type CreatedKey = z.output<typeof createdKey>;
export type WorkerView = z.output<typeof workerView>;
/** One step with its attempts, model, resolved input and output (by reference when stored as a blob). */
export type StepDetail = z.output<typeof stepDetail>;
export type MetricsSummary = z.output<typeof metricsSummary>;
/** An execution's workflow as a graph: steps, dependencies, types, models. */
export type ExecutionGraph = z.output<typeof executionGraph>;
/** An account's balance: `available` and `held`, integer micro-units. */
export type LedgerBalanceView = z.output<typeof ledgerBalance>;
/** A deployment the server's coordinator speaks for, with its signed attestor-binding statement and log entry. */
export type ChainDeploymentView = z.output<typeof chainDeploymentList>['deployments'][number];
/** An address bound to a ledger account on one chain, with the coordinator's signed statement of it. */
export type ChainAddressBindingView = z.output<typeof addressBindingView>;
export type ChainAddressBindingRequest = z.input<typeof addressBindingRequest>;
/** Every current binding on a chain, as an admin reads them (what `verity chain bind --file` takes). */
export type ChainBindingsFile = z.output<typeof adminAddressBindingList>;
/** A ledger transaction, with the postings the caller may see (its own; an admin's: all). */
export type LedgerTransactionView = z.output<typeof ledgerTransaction>;
export type LedgerTransactionPage = z.output<typeof ledgerTransactionPage>;
/** A marketplace listing, with its derived stats (and the workflow's definition where the caller may see it). */
export type ListingView = z.output<typeof listingView>;
export type ListingPage = z.output<typeof listingPage>;
/** A settlement statement, decoded (what the caller may see of it: src/market/settlement-view.ts). */
export type SettlementView = z.output<typeof settlementView>;
export type SettlementPage = z.output<typeof settlementPage>;
/** A subscription to a subscription listing: one period, charged at once, never renewed. */
export type SubscriptionView = z.output<typeof subscriptionSchema>;
/** A buyer's rating of a listing. */
export type RatingView = z.output<typeof ratingSchema>;
export type RatingPage = z.output<typeof ratingPage>;
/** What `rateListing` sends: the run that entitles the rating, 1–5 stars, and an optional review (≤ 2,000 chars). */
export interface RateListingRequest {
  execution_id: string;
  stars: number;
  review?: string;
}
/** What `createListing` sends: the request body of POST /v1/market/listings. */
export type CreateListingRequest = z.input<typeof createListingRequest>;
/** What `updateListing` sends: the fields to change. */
export type UpdateListingRequest = z.input<typeof updateListingRequest>;

export interface ListingSearchOptions {
  /** Words that must all occur in the title, description or tags. */
  q?: string | undefined;
  tag?: string | undefined;
  sort?: 'rating' | 'executions' | 'price' | 'newest' | undefined;
  limit?: number | undefined;
  /** The `next_cursor` of the page before. */
  cursor?: string | undefined;
}

/** A credit or a payout: `amount` in integer micro-units (> 0). */
export interface LedgerMove {
  principal: string;
  amount: number;
  /** The same key with the same content returns the same transaction; with other content, a 409. */
  idempotencyKey?: string;
  /** The postings' reason (default: credit, payout). */
  memo?: string;
}

export interface ServerEvent {
  /** The cursor after this event: resume a stream from it (Last-Event-ID). */
  id: string;
  type: string;
  data: EventView;
}

export interface VerityClientOptions {
  /** The server's base URL, e.g. http://127.0.0.1:8080 */
  server: string;
  /** An API key: vrt_<id>_<secret> */
  apiKey: string;
  /** Per request, except event streams. Default: 30 s. */
  timeoutMs?: number;
}

export type ClientErrorCode = 'http' | 'unreachable' | 'protocol';

/** A failed call: `status` and `code` are the server's (404 not_found, 409 conflict, …) when it answered. */
export class VerityApiError extends VerityError<ClientErrorCode> {
  constructor(
    code: ClientErrorCode,
    message: string,
    readonly status?: number,
    readonly serverCode?: string,
    readonly details?: unknown,
    options: { cause?: unknown } = {},
  ) {
    super(code, message, options);
  }
}

export class VerityClient {
  private readonly base: string;
  private readonly timeoutMs: number;

  constructor(private readonly options: VerityClientOptions) {
    this.base = options.server.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 30_000;
  }

  // -------------------------------------------------------------------------------------------------------
  // Workflows

  /** Publishes a definition (an object, or YAML/JSON text) as the workflow's next version. */
  publishWorkflow(definition: Record<string, unknown> | string): Promise<WorkflowDetail> {
    return this.request('POST', '/v1/workflows', workflowDetail, { body: definition });
  }

  validateWorkflow(definition: Record<string, unknown> | string): Promise<ValidationResult> {
    return this.request('POST', '/v1/workflows/validate', validationResult, { body: definition });
  }

  /** The workflows your key's principal published (an admin's: all), latest version of each. */
  async listWorkflows(): Promise<WorkflowSummary[]> {
    return (await this.request('GET', '/v1/workflows', z.object({ workflows: z.array(workflowVersion) }))).workflows;
  }

  /** Every version of one of your principal's workflows, oldest first; another principal's is a 404. */
  async listWorkflowVersions(id: string): Promise<WorkflowSummary[]> {
    return (
      await this.request('GET', `/v1/workflows/${enc(id)}/versions`, z.object({ versions: z.array(workflowVersion) }))
    ).versions;
  }

  /** One of your principal's workflows; another principal's is a 404, as if it did not exist. */
  getWorkflow(id: string, version?: number): Promise<WorkflowDetail> {
    return this.request(
      'GET',
      version === undefined ? `/v1/workflows/${enc(id)}` : `/v1/workflows/${enc(id)}/versions/${version}`,
      workflowDetail,
    );
  }

  // -------------------------------------------------------------------------------------------------------
  // Executions

  /**
   * Runs a workflow your key's principal published, its latest version unless one is named (the plan's POST
   * /v1/agents/{workflow_id}/execute). Another publisher's workflow is a 404: it runs through its marketplace
   * listing.
   */
  execute(
    workflowId: string,
    request: {
      inputs?: unknown;
      version?: number;
      verificationLevel?: 'basic' | 'full' | 'zk';
      budget?: number;
      idempotencyKey?: string;
    } = {},
  ): Promise<ExecutionView> {
    return this.typed<ExecutionView>('POST', `/v1/agents/${enc(workflowId)}/execute`, executionView, {
      body: {
        inputs: request.inputs ?? {},
        ...(request.version !== undefined && { version: request.version }),
        ...(request.verificationLevel !== undefined && { verification_level: request.verificationLevel }),
        ...(request.budget !== undefined && { budget: request.budget }),
      },
      headers: request.idempotencyKey !== undefined ? { 'idempotency-key': request.idempotencyKey } : {},
    });
  }

  status(executionId: string): Promise<ExecutionView> {
    return this.typed<ExecutionView>('GET', `/v1/agents/${enc(executionId)}/status`, executionView);
  }

  listExecutions(
    filter: { status?: readonly string[]; workflowId?: string; limit?: number; before?: string } = {},
  ): Promise<ExecutionList> {
    const query = new URLSearchParams();
    if (filter.status?.length) query.set('status', filter.status.join(','));
    if (filter.workflowId !== undefined) query.set('workflow_id', filter.workflowId);
    if (filter.limit !== undefined) query.set('limit', String(filter.limit));
    if (filter.before !== undefined) query.set('before', filter.before);
    return this.typed<ExecutionList>(
      'GET',
      `/v1/executions${query.size > 0 ? `?${query.toString()}` : ''}`,
      executionList,
    );
  }

  cancel(executionId: string): Promise<ExecutionView> {
    return this.typed<ExecutionView>('POST', `/v1/executions/${enc(executionId)}/cancel`, executionView, { body: {} });
  }

  retry(executionId: string, options: { budget?: number } = {}): Promise<ExecutionView> {
    return this.typed<ExecutionView>('POST', `/v1/executions/${enc(executionId)}/retry`, executionView, {
      body: options,
    });
  }

  /** The execution's events in order, one page per call: pass `next` back as `after` for the following one. */
  history(executionId: string, options: { after?: string; limit?: number } = {}): Promise<HistoryPage> {
    const query = new URLSearchParams();
    if (options.after !== undefined) query.set('after', options.after);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    return this.typed<HistoryPage>(
      'GET',
      `/v1/executions/${enc(executionId)}/history${query.size > 0 ? `?${query.toString()}` : ''}`,
      historyPage,
    );
  }

  /**
   * The execution's events as they happen (Server-Sent Events), from `after` (default: the beginning) until
   * the execution ends. A dropped connection is resumed from the last event seen, so none is missed.
   */
  async *events(
    executionId: string,
    options: { after?: string; signal?: AbortSignal } = {},
  ): AsyncGenerator<ServerEvent> {
    for await (const message of this.resumableStream(
      `/v1/executions/${enc(executionId)}/events`,
      options.after,
      options.signal,
    )) {
      const data = eventView.safeParse(parseJson(message.data));
      if (!data.success)
        throw new VerityApiError('protocol', `event ${message.id} does not match the API: ${data.error.message}`);
      yield { id: message.id, type: message.event ?? 'message', data: data.data as EventView };
    }
  }

  /**
   * Your executions as they are created and change (an admin's: everyone's), from `since` (an event id;
   * default: the last moments) until `signal` aborts. A dropped connection is resumed from the last event
   * seen; a resumed stream may repeat a row, so apply them by executionId and updatedAt.
   */
  async *executionChanges(options: { since?: string; signal?: AbortSignal } = {}): AsyncGenerator<ExecutionChange> {
    for await (const message of this.resumableStream('/v1/executions/stream', options.since, options.signal)) {
      const data = executionListItem.safeParse(parseJson(message.data));
      if (!data.success)
        throw new VerityApiError('protocol', `event ${message.id} does not match the API: ${data.error.message}`);
      yield { id: message.id, execution: data.data as ExecutionSummary };
    }
  }

  /**
   * The messages with an id of an event stream, resuming after the last one seen when the connection drops,
   * until the server sends `end` (or `signal` aborts). What both event streams of the API share.
   */
  private async *resumableStream(
    path: string,
    from: string | undefined,
    signal: AbortSignal | undefined,
  ): AsyncGenerator<{ id: string; event?: string; data: string }> {
    let cursor = from;
    for (let failures = 0; ;) {
      let ended = false;
      try {
        const response = await this.raw('GET', path, {
          headers: { accept: 'text/event-stream', ...(cursor !== undefined && { 'last-event-id': cursor }) },
          stream: true,
          ...(signal && { signal }),
        });
        for await (const message of readEventStream(response)) {
          failures = 0;
          if (message.event === 'end') {
            ended = true;
            break;
          }
          if (message.id === undefined) continue;
          cursor = message.id;
          yield { ...message, id: message.id };
        }
        if (ended) return;
      } catch (error) {
        if (signal?.aborted) return;
        // A 4xx or a malformed event will not get better by asking again.
        if (
          error instanceof VerityApiError &&
          (error.code === 'protocol' || (error.status !== undefined && error.status < 500))
        )
          throw error;
        if (++failures > 5) throw error;
      }
      if (signal?.aborted) return;
      await new Promise((resolve) => setTimeout(resolve, Math.min(5000, 200 * 2 ** failures)));
    }
  }

  /** One step of an execution: its attempts, model, resolved input and (once completed) output. */
  /** The steps of the execution's workflow and their dependencies (no expressions), to draw its DAG. */
  getExecutionGraph(executionId: string): Promise<ExecutionGraph> {
    return this.request('GET', `/v1/executions/${enc(executionId)}/graph`, executionGraph);
  }

  getStep(executionId: string, stepId: string): Promise<StepDetail> {
    return this.request('GET', `/v1/executions/${enc(executionId)}/steps/${enc(stepId)}`, stepDetail);
  }

  /** Resolves with the execution once it has ended, following its event stream. */
  async waitFor(
    executionId: string,
    options: { onEvent?: (event: ServerEvent) => void; signal?: AbortSignal } = {},
  ): Promise<ExecutionView> {
    for await (const event of this.events(executionId, options.signal ? { signal: options.signal } : {}))
      options.onEvent?.(event);
    return this.status(executionId);
  }

  /** The receipt bundle; with `includeData`, everything `verify --level full` needs; with `zkOnly`, the zk-only bundle. 409 while it runs. */
  async receipt(
    executionId: string,
    options: { includeData?: boolean; zkOnly?: boolean } = {},
  ): Promise<Record<string, unknown>> {
    const query = options.zkOnly ? '?zk_only=true' : options.includeData ? '?data=true' : '';
    const response = await this.raw('GET', `/v1/agents/${enc(executionId)}/receipt${query}`);
    return (await response.json()) as Record<string, unknown>;
  }

  /**
   * Uploads bytes (an image, a document) and answers the reference to put in an execution's inputs:
   * `{ $blob: 'sha256:…', size, mediaType }`. The same bytes always get the same reference.
   */
  async uploadBlob(bytes: Uint8Array, mediaType = 'application/octet-stream'): Promise<BlobRef> {
    const ref = await this.request('POST', '/v1/blobs', blobRefSchema, {
      body: bytes,
      headers: { 'content-type': mediaType },
    });
    return ref;
  }

  /** A blob you uploaded or one of your executions produced; the bytes are checked against the digest. */
  async downloadBlob(ref: BlobRef | string): Promise<{ bytes: Uint8Array; mediaType: string }> {
    const digest = typeof ref === 'string' ? ref : ref.$blob;
    const response = await this.raw('GET', `/v1/blobs/${enc(digest)}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (digestOfBytes(bytes) !== digest) {
      throw new VerityApiError('protocol', `the server sent bytes that do not match ${digest}`, response.status);
    }
    return { bytes, mediaType: response.headers.get('content-type') ?? 'application/octet-stream' };
  }

  /** Server-side verification (it trusts the server's own keys unless given others); verify offline to trust nothing. */
  verify(
    bundle: unknown,
    options: { level?: 'basic' | 'full' | 'zk'; trustedKeys?: string[] } = {},
  ): Promise<VerificationReport> {
    return this.request('POST', '/v1/receipts/verify', verificationReport, {
      body: {
        bundle,
        level: options.level ?? 'basic',
        ...(options.trustedKeys && { trustedKeys: options.trustedKeys }),
      },
    });
  }

  coordinatorKey(): Promise<z.output<typeof coordinatorKey>> {
    return this.request('GET', '/v1/keys/coordinator', coordinatorKey);
  }

  checkpoint(): Promise<z.output<typeof checkpointResponse>> {
    return this.request('GET', '/v1/log/checkpoint', checkpointResponse);
  }

  inclusionProof(index: number, size?: number): Promise<z.output<typeof inclusionResponse>> {
    return this.request(
      'GET',
      `/v1/log/inclusion?index=${index}${size === undefined ? '' : `&size=${size}`}`,
      inclusionResponse,
    );
  }

  consistencyProof(from: number, to?: number): Promise<z.output<typeof consistencyResponse>> {
    return this.request(
      'GET',
      `/v1/log/consistency?from=${from}${to === undefined ? '' : `&to=${to}`}`,
      consistencyResponse,
    );
  }

  // -------------------------------------------------------------------------------------------------------
  // The ledger (amounts in integer micro-units)

  /** The caller's balance; an admin may name another account. */
  // -------------------------------------------------------------------------------------------------------
  // Chain bindings

  /** The deployments this server's coordinator speaks for, each with its attestor-binding statement. */
  async chainDeployments(): Promise<ChainDeploymentView[]> {
    return (await this.request('GET', '/v1/chain/deployments', chainDeploymentList)).deployments;
  }

  /** Binds an address to your ledger account on a chain (an admin: also `principal: 'sys:platform'`). */
  bindChainAddress(request: ChainAddressBindingRequest): Promise<ChainAddressBindingView> {
    return this.request('POST', '/v1/chain/bindings', addressBindingView, { body: request });
  }

  /** Your own current binding on a chain (none or one). */
  async chainBindings(chainId: number): Promise<ChainAddressBindingView[]> {
    return (await this.request('GET', `/v1/chain/bindings?chain_id=${chainId}`, addressBindingList)).bindings;
  }

  /** Every current binding on a chain (admin). */
  allChainBindings(chainId: number): Promise<ChainBindingsFile> {
    return this.request('GET', `/v1/admin/chain-bindings?chain_id=${chainId}`, adminAddressBindingList);
  }

  balance(options: { principal?: string } = {}): Promise<LedgerBalanceView> {
    const query = new URLSearchParams();
    if (options.principal !== undefined) query.set('principal', options.principal);
    return this.request('GET', `/v1/ledger/balance${queryString(query)}`, ledgerBalance);
  }

  /** The caller's ledger transactions, newest first; pass `next_cursor` as `cursor` for the next page. */
  ledgerTransactions(
    options: { limit?: number; cursor?: string; principal?: string } = {},
  ): Promise<LedgerTransactionPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    if (options.principal !== undefined) query.set('principal', options.principal);
    return this.request('GET', `/v1/ledger/transactions${queryString(query)}`, ledgerTransactionPage);
  }

  /** Credits a principal's available balance (admin keys). */
  credit(move: LedgerMove): Promise<LedgerTransactionView> {
    return this.request('POST', '/v1/ledger/credit', ledgerTransaction, ledgerMoveRequest(move));
  }

  /** Records a payout from a principal's available balance (admin keys); a 402 when it has less. */
  payout(move: LedgerMove): Promise<LedgerTransactionView> {
    return this.request('POST', '/v1/ledger/payout', ledgerTransaction, ledgerMoveRequest(move));
  }

  // -------------------------------------------------------------------------------------------------------
  // The marketplace's listings (prices in integer micro-units)

  /** Lists a workflow version the caller owns (publisher and admin keys). */
  createListing(request: CreateListingRequest): Promise<ListingView> {
    return this.request('POST', '/v1/market/listings', listingView, { body: request });
  }

  /** A listing the caller may see, with its stats; a 404 for one it may not, as for one that does not exist. */
  getListing(id: string): Promise<ListingView> {
    return this.request('GET', `/v1/market/listings/${enc(id)}`, listingView);
  }

  /** One page of a search; pass `next_cursor` as `cursor` for the next. */
  searchListings(options: ListingSearchOptions = {}): Promise<ListingPage> {
    const query = new URLSearchParams();
    for (const key of ['q', 'tag', 'sort', 'limit', 'cursor'] as const) {
      if (options[key] !== undefined) query.set(key, String(options[key]));
    }
    return this.request('GET', `/v1/market/listings${queryString(query)}`, listingPage);
  }

  /**
   * Buys a run of a listing: holds the most it can cost on your balance and starts the execution (the
   * listing's pinned version, budget and level). 402 `insufficient_funds` starts nothing; the same
   * `idempotencyKey` returns the same execution and holds once. Settlement happens when it ends: read it
   * with `settlements(executionId)`.
   */
  executeListing(
    listingId: string,
    request: { inputs?: unknown; max_price?: number } = {},
    options: { idempotencyKey?: string } = {},
  ): Promise<ExecutionView> {
    return this.typed<ExecutionView>('POST', `/v1/market/listings/${enc(listingId)}/execute`, executionView, {
      body: {
        inputs: request.inputs ?? {},
        ...(request.max_price !== undefined && { max_price: request.max_price }),
      },
      headers: options.idempotencyKey !== undefined ? { 'idempotency-key': options.idempotencyKey } : {},
    });
  }

  /** An execution's settlement statements, decoded, with their signed envelopes (its buyer, or an admin). */
  async settlements(executionId: string): Promise<SettlementView[]> {
    return (await this.request('GET', `/v1/executions/${enc(executionId)}/settlements`, executionSettlements))
      .settlements;
  }

  /**
   * The attestor's signed EIP-712 settlement of an execution's latest settlement statement, drawing on the
   * buyer's signed order (its buyer, or an admin): a chain settlement document that anyone may submit and
   * `verity verify` checks (docs/chain.md). `order` is the EIP-712 Order message, amounts as decimal strings.
   */
  chainSettlement(
    executionId: string,
    request: { chain_id: number; order: Record<string, string>; order_signature: string },
  ): Promise<Record<string, unknown>> {
    return this.request(
      'POST',
      `/v1/executions/${enc(executionId)}/chain-settlement`,
      z.record(z.string(), z.unknown()),
      {
        body: request,
      },
    );
  }

  /**
   * Records in the ledger what the escrow paid for an execution in a mined transaction (its buyer, or an
   * admin): each payee's on-chain amount moves from the payee back to the buyer, once per settlement event.
   */
  chainPayments(
    executionId: string,
    request: { chain_id: number; transaction_hash: string },
  ): Promise<{
    transaction_hash: string;
    payments: {
      revision: number;
      log_index: number;
      paid_now: number;
      token: string;
      ledger_transaction_id: string;
      replayed: boolean;
    }[];
  }> {
    return this.request('POST', `/v1/executions/${enc(executionId)}/chain-payments`, chainPaymentsResponse, {
      body: request,
    });
  }

  /**
   * The settlement statements that posted to the caller's account, newest first: a payee's view (its own
   * postings; the publisher also sees C, price and fee); admins may name a `principal` and see them in full.
   */
  ledgerSettlements(options: { principal?: string; limit?: number; cursor?: string } = {}): Promise<SettlementPage> {
    const query = new URLSearchParams();
    for (const key of ['principal', 'limit', 'cursor'] as const) {
      if (options[key] !== undefined) query.set(key, String(options[key]));
    }
    return this.request('GET', `/v1/ledger/settlements${queryString(query)}`, settlementPage);
  }

  /** Changes a listing (its owner, or an admin). */
  updateListing(id: string, change: UpdateListingRequest): Promise<ListingView> {
    return this.request('PATCH', `/v1/market/listings/${enc(id)}`, listingView, { body: change });
  }

  pauseListing(id: string): Promise<ListingView> {
    return this.request('POST', `/v1/market/listings/${enc(id)}/pause`, listingView, { body: {} });
  }

  resumeListing(id: string): Promise<ListingView> {
    return this.request('POST', `/v1/market/listings/${enc(id)}/resume`, listingView, { body: {} });
  }

  /** Retires a listing for good. */
  retireListing(id: string): Promise<ListingView> {
    return this.request('POST', `/v1/market/listings/${enc(id)}/retire`, listingView, { body: {} });
  }

  // -------------------------------------------------------------------------------------------------------
  // Subscriptions and ratings

  /**
   * Subscribes to a subscription listing for one 30-day period, charging its subscription_price now (a 402
   * when short; a 409 subscription_active, saying when it ends, while a period runs). Nothing renews it.
   */
  subscribe(listingId: string): Promise<SubscriptionView> {
    return this.request('POST', `/v1/market/listings/${enc(listingId)}/subscribe`, subscriptionSchema, { body: {} });
  }

  /** Unsubscribes: the period still runs to its end; nothing is refunded. */
  unsubscribe(listingId: string): Promise<SubscriptionView> {
    return this.request('POST', `/v1/market/listings/${enc(listingId)}/unsubscribe`, subscriptionSchema, {
      body: {},
    });
  }

  /** The caller's subscriptions, newest first (admins: another principal's). */
  async listSubscriptions(options: { principal?: string; limit?: number } = {}): Promise<SubscriptionView[]> {
    const query = new URLSearchParams();
    if (options.principal !== undefined) query.set('principal', options.principal);
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    return (await this.request('GET', `/v1/market/subscriptions${queryString(query)}`, subscriptionList)).subscriptions;
  }

  /** Rates a listing, naming your run of it that settled completed; replaces your earlier rating. */
  rateListing(listingId: string, rating: RateListingRequest): Promise<RatingView> {
    return this.request('POST', `/v1/market/listings/${enc(listingId)}/ratings`, ratingSchema, { body: rating });
  }

  /** One page of a listing's ratings, newest first; pass `next_cursor` as `cursor` for the next. */
  listRatings(listingId: string, options: { limit?: number; cursor?: string } = {}): Promise<RatingPage> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.cursor !== undefined) query.set('cursor', options.cursor);
    return this.request('GET', `/v1/market/listings/${enc(listingId)}/ratings${queryString(query)}`, ratingPage);
  }

  // -------------------------------------------------------------------------------------------------------
  // Administration (admin keys)

  createKey(principal: string, role: 'client' | 'publisher' | 'worker' | 'admin'): Promise<CreatedKey> {
    return this.request('POST', '/v1/keys', createdKey, { body: { principal, role } });
  }

  /** The calling key's id, principal and role (client, publisher and admin keys). */
  whoAmI(): Promise<z.output<typeof whoAmI>> {
    return this.request('GET', '/v1/me', whoAmI);
  }

  async listKeys(): Promise<ApiKeyView[]> {
    return (await this.request('GET', '/v1/keys', z.object({ keys: z.array(apiKeyView) }))).keys;
  }

  revokeKey(id: string): Promise<ApiKeyView> {
    return this.request('DELETE', `/v1/keys/${enc(id)}`, apiKeyView);
  }

  async listWorkers(): Promise<WorkerView[]> {
    return (await this.request('GET', '/v1/workers', z.object({ workers: z.array(workerView) }))).workers;
  }

  /** The last hour in minute buckets, counted from the store. */
  metricsSummary(): Promise<MetricsSummary> {
    return this.request('GET', '/v1/metrics/summary', metricsSummary);
  }

  // -------------------------------------------------------------------------------------------------------

  /**
   * zod types an optional field as `T | undefined`, the engine's types (exactOptionalPropertyTypes) as an
   * absent key. Parsed JSON never holds undefined, so what the schema accepted has the engine's exact shape.
   */
  private async typed<T>(
    method: string,
    path: string,
    schema: z.ZodType,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<T> {
    return (await this.request(method, path, schema, options)) as T;
  }

  private async request<S extends z.ZodType>(
    method: string,
    path: string,
    schema: S,
    options: { body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<z.output<S>> {
    const response = await this.raw(method, path, options);
    const text = await response.text();
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new VerityApiError(
        'protocol',
        `${method} ${path}: the server answered ${response.status} with something that is not JSON`,
        response.status,
        undefined,
        undefined,
        { cause: error },
      );
    }
    const parsed = schema.safeParse(value);
    if (!parsed.success)
      throw new VerityApiError(
        'protocol',
        `${method} ${path}: the response does not match the API: ${parsed.error.message}`,
        response.status,
      );
    return parsed.data;
  }

  /** One HTTP call; non-2xx answers become a VerityApiError carrying the server's error code and message. */
  private async raw(
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; stream?: boolean; signal?: AbortSignal } = {},
  ): Promise<Response> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}`, ...options.headers };
    // The DOM's fetch types take only ArrayBuffer-backed bytes (the dashboard compiles this file with them);
    // the bytes callers pass (uploadBlob's) are ordinary ones, never a view of shared memory.
    let body: string | Uint8Array<ArrayBuffer> | undefined;
    if (options.body instanceof Uint8Array) {
      body = options.body as Uint8Array<ArrayBuffer>;
      headers['content-type'] ??= 'application/octet-stream';
    } else if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= typeof options.body === 'string' ? 'application/yaml' : 'application/json';
    }
    const signals = [
      ...(options.signal ? [options.signal] : []),
      ...(options.stream ? [] : [AbortSignal.timeout(this.timeoutMs)]),
    ];
    let response: Response;
    try {
      response = await fetch(`${this.base}${path}`, {
        method,
        headers,
        ...(body !== undefined && { body }),
        ...(signals.length > 0 && { signal: AbortSignal.any(signals) }),
      });
    } catch (error) {
      throw new VerityApiError(
        'unreachable',
        `cannot reach the Verity server at ${this.base}: ${(error as Error).message}`,
        undefined,
        undefined,
        undefined,
        { cause: error },
      );
    }
    if (response.ok) return response;
    let error: { code?: string; message?: string; details?: unknown } = {};
    try {
      error = ((await response.json()) as { error?: typeof error }).error ?? {};
    } catch {
      // Not a JSON error body: the status says enough.
    }
    throw new VerityApiError(
      'http',
      error.message ?? `${method} ${path}: HTTP ${response.status}`,
      response.status,
      error.code,
      error.details,
    );
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function enc(segment: string): string {
  return encodeURIComponent(segment);
}

/** Parses a text/event-stream body into messages (the WHATWG EventSource format). */
function queryString(query: URLSearchParams): string {
  const text = query.toString();
  return text === '' ? '' : `?${text}`;
}

function ledgerMoveRequest(move: LedgerMove): { body: unknown; headers: Record<string, string> } {
  return {
    body: {
      principal: move.principal,
      amount: move.amount,
      ...(move.memo !== undefined && { memo: move.memo }),
    },
    headers: move.idempotencyKey !== undefined ? { 'idempotency-key': move.idempotencyKey } : {},
  };
}

async function* readEventStream(response: Response): AsyncGenerator<{ id?: string; event?: string; data: string }> {
  if (!response.body) return;
  const decoder = new TextDecoder();
  let buffer = '';
  const reader: ReadableStreamDefaultReader<Uint8Array> = response.body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let end = /\r?\n\r?\n/.exec(buffer); end; end = /\r?\n\r?\n/.exec(buffer)) {
        const block = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        const message: { id?: string; event?: string; data: string } = { data: '' };
        const data: string[] = [];
        for (const line of block.split(/\r?\n/)) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const fieldValue = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'id') message.id = fieldValue;
          else if (field === 'event') message.event = fieldValue;
          else if (field === 'data') data.push(fieldValue);
        }
        if (data.length === 0 && message.event === undefined) continue;
        message.data = data.join('\n');
        yield message;
      }
    }
  } finally {
    reader.releaseLock();
    await response.body.cancel().catch(() => undefined);
  }
}
