import { VerityError } from '../errors.js';

export type ReceiptErrorCode = 'no_receipt' | 'missing_record';

export class ReceiptError extends VerityError<ReceiptErrorCode> {}
