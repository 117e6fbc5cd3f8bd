import type { Command } from 'commander';
import { platformFeeBps } from '../../market/fee.js';
import { listRatings, rateListing, ratingView } from '../../market/ratings.js';
import { listSubscriptions, subscribe, subscriptionView, unsubscribe } from '../../market/subscriptions.js';
import type { RatingPage, RatingView, SubscriptionView } from '../../sdk/client.js';
import { onServerOrStore } from '../backends/open.js';
import { CliError } from '../errors.js';
import { table } from '../format.js';
import { actorOf, integer, withMarketOptions } from './market.js';
import type { MarketFlags } from './market.js';

/**
 * `verity market subscribe|unsubscribe|subscriptions|rate|ratings`: subscriptions to subscription listings
 * and ratings, on a server (the key says who) or locally acting for a principal (--as, required: a
 * subscription and a rating belong to a buyer, which an operator's admin default is not).
 */

function buyerOf(flags: MarketFlags, what: string) {
  if (flags.as === undefined) throw new CliError('usage', `locally, ${what} needs a buyer: --as PRINCIPAL`);
  return actorOf(flags);
}

function json(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

function printSubscription(s: SubscriptionView, flags: MarketFlags): void {
  if (flags.json) return json(s);
  console.log(
    table([
      ['id', s.id],
      ['listing', s.listing_id],
      ['status', s.status],
      ['price', `${s.price} (charged at subscribe time; no receipt: it buys the period, not a run)`],
      ['period', `${s.period_start} – ${s.period_end} (no renewal)`],
      ['included runs', `${s.used_executions} of ${s.included_executions} used`],
      ...(s.cancelled_at !== null ? [['cancelled', `${s.cancelled_at} (the period still runs to its end)`]] : []),
    ]),
  );
}

export function registerMarketSubscriptions(market: Command): void {
  withMarketOptions(
    market
      .command('subscribe')
      .description('subscribe to a subscription listing for 30 days, paying its subscription_price now')
      .argument('<id>', 'the listing id'),
  ).action(async (id: string, flags: MarketFlags) => {
    const s = await onServerOrStore<SubscriptionView>(
      flags,
      (client) => client.subscribe(id),
      async (store) =>
        subscriptionView(await subscribe(store, buyerOf(flags, 'a subscription'), id, { feeBps: platformFeeBps() })),
    );
    printSubscription(s, flags);
  });

  withMarketOptions(
    market
      .command('unsubscribe')
      .description('unsubscribe: the period still runs to its end; nothing is refunded or renewed')
      .argument('<id>', 'the listing id'),
  ).action(async (id: string, flags: MarketFlags) => {
    const s = await onServerOrStore<SubscriptionView>(
      flags,
      (client) => client.unsubscribe(id),
      async (store) => subscriptionView(await unsubscribe(store, buyerOf(flags, 'unsubscribing'), id)),
    );
    printSubscription(s, flags);
  });

  withMarketOptions(market.command('subscriptions').description('your subscriptions, newest first')).action(
    async (flags: MarketFlags) => {
      const list = await onServerOrStore<SubscriptionView[]>(
        flags,
        (client) => client.listSubscriptions(),
        async (store) =>
          (await listSubscriptions(store.read, buyerOf(flags, 'listing subscriptions').principal)).map((s) =>
            subscriptionView(s),
          ),
      );
      if (flags.json) return json({ subscriptions: list });
      if (list.length === 0) return console.error('no subscriptions');
      console.log(
        table([
          ['ID', 'LISTING', 'STATUS', 'USED', 'PERIOD END'],
          ...list.map((s) => [
            s.id,
            s.listing_id,
            s.status,
            `${s.used_executions}/${s.included_executions}`,
            s.period_end,
          ]),
        ]),
      );
    },
  );

  withMarketOptions(
    market
      .command('rate')
      .description('rate a listing you ran: 1 to 5 stars, naming your execution of it that settled completed')
      .argument('<id>', 'the listing id')
      .requiredOption('--execution <id>', 'your execution of this listing that completed')
      .requiredOption('--stars <n>', '1 to 5')
      .option('--review <text>', 'a review, up to 2,000 characters'),
  ).action(async (id: string, flags: MarketFlags & { execution: string; stars: string; review?: string }) => {
    const stars = integer('--stars', flags.stars)!;
    if (stars < 1 || stars > 5) throw new CliError('usage', `--stars must be 1 to 5, not ${stars}`);
    if (flags.review !== undefined && flags.review.length > 2000) {
      throw new CliError('usage', `--review: at most 2000 characters, got ${flags.review.length}`);
    }
    const rating = await onServerOrStore<RatingView>(
      flags,
      (client) =>
        client.rateListing(id, {
          execution_id: flags.execution,
          stars,
          ...(flags.review !== undefined && { review: flags.review }),
        }),
      async (store) =>
        ratingView(
          await rateListing(store, buyerOf(flags, 'a rating'), id, {
            executionId: flags.execution,
            stars,
            ...(flags.review !== undefined && { review: flags.review }),
          }),
        ),
    );
    if (flags.json) return json(rating);
    console.log(`rated listing ${rating.listing_id} ${rating.stars}/5 (execution ${rating.execution_id})`);
  });

  withMarketOptions(
    market
      .command('ratings')
      .description("a listing's ratings and reviews, newest first")
      .argument('<id>', 'the listing id')
      .option('--limit <n>', 'how many, 1 to 100', '20')
      .option('--cursor <cursor>', 'the page after a previous one (printed on stderr when there is more)'),
  ).action(async (id: string, flags: MarketFlags & { limit: string; cursor?: string }) => {
    const limit = integer('--limit', flags.limit)!;
    if (limit < 1 || limit > 100) throw new CliError('usage', `--limit must be 1 to 100, not ${limit}`);
    const page = await onServerOrStore<RatingPage>(
      flags,
      (client) => client.listRatings(id, { limit, ...(flags.cursor !== undefined && { cursor: flags.cursor }) }),
      async (store) => {
        const found = await listRatings(store.read, actorOf(flags), id, {
          limit,
          ...(flags.cursor !== undefined && { cursor: flags.cursor }),
        });
        return {
          ratings: found.ratings.map(ratingView),
          ...(found.nextCursor !== undefined && { next_cursor: found.nextCursor }),
        };
      },
    );
    if (flags.json) return json(page);
    if (page.ratings.length === 0) console.error('no ratings');
    else {
      console.log(
        table([
          ['STARS', 'BUYER', 'WHEN', 'REVIEW'],
          ...page.ratings.map((r) => [String(r.stars), r.buyer, r.created_at, r.review ?? '']),
        ]),
      );
    }
    if (page.next_cursor !== undefined) console.error(`more: --cursor ${page.next_cursor}`);
  });
}
