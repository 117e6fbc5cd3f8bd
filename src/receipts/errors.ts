import { VerityError } from '../errors.js';

export type ReceiptErrorCode = 'no_receipt' | 'missing_record' | 'no_zk_proofs' | 'cost_overflow';

export class ReceiptError extends VerityError<ReceiptErrorCode> {}
