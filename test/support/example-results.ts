/**
 * What the model examples produce, the same wherever they run (the CLI, a server with remote workers):
 * wink-nlp's sentiment and a seeded naive Bayes are deterministic.
 */
export const REVIEW_SENTIMENT = {
  products: [
    {
      product: 'kettle',
      count: 3,
      average_sentiment: 0.32,
      most_negative: {
        text: 'The handle gets hot and it leaks. Disappointing and not worth the money.',
        sentiment: -0.3,
      },
    },
    {
      product: 'toaster',
      count: 3,
      average_sentiment: 0.114,
      most_negative: {
        text: 'Terrible toaster. It broke after two days and I want a refund.',
        sentiment: -0.406,
      },
    },
    {
      product: 'blender',
      count: 2,
      average_sentiment: 0.147,
      most_negative: {
        text: 'Very loud and the jar cracked within a month. Awful customer service.',
        sentiment: -0.3,
      },
    },
  ],
};

/** The same data and seed train the same model, byte for byte: the blob's digest is part of the result. */
export const TRAIN_AND_CLASSIFY = {
  summary: {
    held_out_accuracy: 1,
    train_size: 48,
    test_size: 12,
    by_label: { invoice: 2, support_request: 2, spam: 1 },
    predictions: [
      {
        text: 'Attached is invoice 9921 for the April consulting work, payment due in 30 days',
        label: 'invoice',
        confidence: 1,
      },
      {
        text: 'I cannot reset my password, the app shows an error, please help',
        label: 'support_request',
        confidence: 1,
      },
      { text: 'Click here to claim your free prize, limited time offer, act now', label: 'spam', confidence: 1 },
      { text: 'Reminder: the outstanding balance on invoice 4410 is $2,300', label: 'invoice', confidence: 0.999 },
      {
        text: 'My download keeps failing with a timeout error, can support help?',
        label: 'support_request',
        confidence: 1,
      },
    ],
  },
  model: {
    $blob: 'sha256:4f21e9269ed6d0188d2717cf1ee7708c243f6d35ee863745822dddf559b427d1',
    size: 3838,
    mediaType: 'application/vnd.verity.naive-bayes+json',
  },
};

/** OCR of examples/document-intelligence/invoice.png, then NLP and JSONata: the whole record, read off the image. */
export const DOCUMENT_INTELLIGENCE = {
  record: {
    vendor: 'Acme Supplies Ltd',
    invoice_number: 'INV-2024-0117',
    date: '2024-03-15',
    bill_to: 'GlobexCorporation',
    items: [234.5, 612, 388.06],
    total: 1234.56,
  },
  document_type: 'invoice',
  checks: {
    items_add_up: true,
  },
  report: 'invoice INV-2024-0117 from Acme Supplies Ltd dated 2024-03-15: 3 items, total $1,234.56 (the items add up)',
};
