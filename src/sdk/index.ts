/**
 * `verity/sdk`: the TypeScript client of a Verity server's API. Browser-safe: it talks through `fetch`,
 * checks responses with the zod schemas the server validates with (src/api/schemas.ts, which needs only
 * the record types and status lists of src/store/records.ts), and hashes downloaded blobs with the pure
 * SHA-256 of src/attest/. Types it names from the engine and the store are erased at build; nothing that
 * executes on a server is imported (eslint.config.js enforces it, and test/integration/verifier-
 * portability.test.ts bundles this file for the browser and lists what it pulls in). To check a bundle a
 * server returns, use `verity/verify`.
 */
export { VerityApiError, VerityClient } from './client.js';
export type {
  ApiKeyView,
  ChainAddressBindingRequest,
  ChainAddressBindingView,
  ChainBindingsFile,
  ChainDeploymentView,
  ClientErrorCode,
  CreateListingRequest,
  CreatedKey,
  EventView,
  ExecutionChange,
  ExecutionList,
  ExecutionSummary,
  ExecutionView,
  HistoryPage,
  LedgerBalanceView,
  LedgerMove,
  LedgerTransactionPage,
  LedgerTransactionView,
  ListingPage,
  ListingSearchOptions,
  ListingView,
  MetricsSummary,
  ExecutionGraph,
  RateListingRequest,
  RatingPage,
  RatingView,
  ServerEvent,
  SettlementPage,
  SettlementView,
  StepDetail,
  StepSummary,
  SubscriptionView,
  UpdateListingRequest,
  ValidationResult,
  VerificationReport,
  VerityClientOptions,
  WorkerView,
  WorkflowDetail,
  WorkflowSummary,
} from './client.js';
export type { BlobRef } from '../blobs/blob-ref.js';
export type { ExecutionStatus } from '../store/records.js';
export { VerityError } from '../errors.js';
