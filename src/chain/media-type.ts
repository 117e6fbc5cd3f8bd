/**
 * The media type of an on-chain settlement document (src/chain/settlement-document.ts). Apart, so that
 * `verity verify` can tell a document from a bundle without loading viem.
 */
export const CHAIN_SETTLEMENT_MEDIA_TYPE = 'application/vnd.verity.chain-settlement.v1+json';
