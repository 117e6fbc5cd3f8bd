/**
 * Renders the example invoice (invoice.png) that the OCR example and tests read. The PNG is committed,
 * so neither CI nor users need Chromium; run this only to change the invoice:
 *
 *   npx tsx examples/document-intelligence/make-invoice.ts
 *
 * Debian's Chromium (`apt-get install chromium`) drives the rendering through playwright-core, which
 * brings no browser of its own.
 */
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const OUTPUT = fileURLToPath(new URL('./invoice.png', import.meta.url));
const WIDTH = 800;

// Plain sans-serif black on white at sizes OCR reads easily: the example shows the pipeline, not its limits.
const HTML = `<!doctype html>
<html><head><meta charset="utf-8"><style>
  body { margin: 0; padding: 40px 48px; width: ${WIDTH - 96}px; background: #fff; color: #000;
         font-family: 'DejaVu Sans', 'Liberation Sans', Arial, sans-serif; font-size: 20px; }
  h1 { font-size: 34px; margin: 0 0 6px; }
  .muted { margin: 2px 0; }
  .meta { margin: 26px 0; }
  .meta div { margin: 4px 0; }
  table { width: 100%; border-collapse: collapse; margin-top: 10px; }
  th, td { text-align: left; padding: 8px 4px; }
  th { border-bottom: 2px solid #000; }
  td.amount, th.amount { text-align: right; }
  .total { text-align: right; font-size: 26px; font-weight: bold; margin-top: 24px; }
</style></head><body>
  <h1>Acme Supplies Ltd</h1>
  <div class="muted">42 Harbour Road, Springfield</div>
  <div class="meta">
    <div>Invoice Number: INV-2024-0117</div>
    <div>Date: 2024-03-15</div>
    <div>Bill To: Globex Corporation</div>
  </div>
  <table>
    <tr><th>Description</th><th class="amount">Amount</th></tr>
    <tr><td>Printer paper, 20 boxes</td><td class="amount">$234.50</td></tr>
    <tr><td>Toner cartridges, 4 units</td><td class="amount">$612.00</td></tr>
    <tr><td>Office chairs, 2 units</td><td class="amount">$388.06</td></tr>
  </table>
  <div class="total">Total: $1,234.56</div>
</body></html>`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: WIDTH, height: 600 }, deviceScaleFactor: 1 });
  await page.setContent(HTML, { waitUntil: 'load' });
  await page.screenshot({ path: OUTPUT, fullPage: true });
  process.stdout.write(`wrote ${OUTPUT}\n`);
} finally {
  await browser.close();
}
