import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { z } from 'zod';
import { principalNameProblem } from '../../auth/principal.js';
import { createListingRequest, listingSearchQuery, updateListingRequest } from '../../api/schemas.js';
import { platformFeeBps } from '../../market/fee.js';
import { listingViews } from '../../market/listing-view.js';
import { createListing, getListing, setListingStatus, updateListing } from '../../market/listings.js';
import type { Actor, ListingAction } from '../../market/listings.js';
import { searchListings } from '../../market/search.js';
import type { ListingPage, ListingView } from '../../sdk/client.js';
import { onServerOrStore, withBackendOptions } from '../backends/open.js';
import type { BackendFlags } from '../backends/open.js';
import { CliError } from '../errors.js';
import { registerMarketRun } from './market-run.js';
import { registerMarketSubscriptions } from './market-subscriptions.js';
import { table } from '../format.js';

/**
 * `verity market`: the marketplace's listings, against a server (with --server and a key, which says who
 * acts) or on a data directory, where the operator acts for a principal with `--as NAME` (as that principal,
 * under the same rules as the API: src/market/), or as an admin without it (whoever can read the store is
 * its admin anyway). Publishing needs a principal to own the listing: --as locally.
 */

export interface MarketFlags extends BackendFlags {
  as?: string;
  json?: boolean;
}

interface ListingFlags {
  file?: string;
  workflowVersion?: string;
  title?: string;
  description?: string;
  tag?: string[];
  model?: string;
  price?: string;
  subscriptionPrice?: string;
  markupBps?: string;
  maxPrice?: string;
  included?: string;
  overQuota?: string;
  level?: string;
  public?: boolean;
  authorize?: string[];
  showDefinition?: boolean;
}

const collect = (value: string, previous: string[] = []): string[] => [...previous, value];

/** The options of a command that runs on a server or, acting for a principal, on the local store. */
export function withMarketOptions(command: Command): Command {
  return withBackendOptions(command)
    .option('--as <principal>', 'locally: act as this principal (default: as an admin); ignored with --server')
    .option('--json', 'print the JSON the API answers with');
}

/** The options that describe a listing, for publish and update: flags, or a JSON file of the API's body. */
function withListingOptions(command: Command): Command {
  return command
    .option('--file <path>', "a JSON file with the request's fields (snake_case, as the API takes them); flags win")
    .option('--title <text>', 'the title, 1 to 200 characters')
    .option('--description <text>', 'the description, up to 10,000 characters')
    .option('--tag <tag>', 'a tag (repeat for more; at most 20)', collect)
    .option('--model <model>', 'pricing model: per_execution (publish: the default), per_usage or subscription')
    .option('--price <micro-units>', 'execution_price: per completed run (or per run past a quota)')
    .option('--subscription-price <micro-units>', 'subscription_price: per 30-day period')
    .option('--markup-bps <bps>', 'per_usage: the markup on the compute cost, in basis points')
    .option('--max-price <micro-units>', "per_usage: the most one run costs ('none' to remove)")
    .option('--included <n>', 'subscription: runs included in each period')
    .option('--over-quota <policy>', 'subscription: charge or refuse runs past the included ones')
    .option('--level <level>', "verification level: basic, full or zk (at least the workflow's)")
    .option('--public', 'anyone may see and run it')
    .option('--no-public', 'only its owner, admins and --authorize principals may see it')
    .option('--authorize <principal>', 'a principal that may see a private listing (repeat for more)', collect)
    .option('--show-definition', "show buyers the workflow's definition")
    .option('--no-show-definition', "hide the workflow's definition from buyers");
}

/** What the flags (over the file's fields) ask for, as an API request body: checked by the API's own schema. */
function requestOf(flags: ListingFlags): Record<string, unknown> {
  let body: Record<string, unknown> = {};
  if (flags.file !== undefined) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(flags.file, 'utf8'));
    } catch (error) {
      throw new CliError('usage', `--file ${flags.file}: ${(error as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw new CliError('usage', `--file ${flags.file}: must hold a JSON object of the listing's fields`);
    }
    body = { ...(parsed as Record<string, unknown>) };
  }
  const pricing: Record<string, unknown> = { ...(body.pricing as Record<string, unknown> | undefined) };
  const set = (target: Record<string, unknown>, key: string, value: unknown) => {
    if (value !== undefined) target[key] = value;
  };
  set(body, 'workflow_version', integer('--workflow-version', flags.workflowVersion));
  set(body, 'title', flags.title);
  set(body, 'description', flags.description);
  set(body, 'tags', flags.tag);
  set(body, 'execution_price', integer('--price', flags.price));
  set(body, 'subscription_price', integer('--subscription-price', flags.subscriptionPrice));
  set(body, 'verification_level', flags.level);
  set(body, 'is_public', flags.public);
  set(body, 'authorized_users', flags.authorize);
  set(body, 'show_definition', flags.showDefinition);
  set(pricing, 'model', flags.model);
  set(pricing, 'markup_bps', integer('--markup-bps', flags.markupBps));
  set(pricing, 'max_price', flags.maxPrice === 'none' ? null : integer('--max-price', flags.maxPrice));
  set(pricing, 'included_executions', integer('--included', flags.included));
  set(pricing, 'over_quota', flags.overQuota);
  if (Object.keys(pricing).length > 0) body.pricing = pricing;
  return body;
}

export function integer(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!/^[0-9]+$/.test(text) || !Number.isSafeInteger(value)) {
    throw new CliError('usage', `${flag} must be a whole number of at least 0, not "${text}"`);
  }
  return value;
}

/** Checks a body with the API's schema, so that a local command refuses what the server would, by field. */
function parsed<S extends z.ZodType>(schema: S, body: unknown): z.output<S> {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = issue.path.join('.') || '(listing)';
  throw new CliError('usage', `${field}: ${issue.message}`);
}

export function actorOf(flags: MarketFlags): Actor {
  if (flags.as === undefined) return { principal: 'admin', admin: true };
  const problem = principalNameProblem(flags.as);
  if (problem !== undefined) throw new CliError('usage', `--as: ${problem}`);
  return { principal: flags.as, admin: false };
}

function print(listing: ListingView, json: boolean | undefined): void {
  if (json) {
    process.stdout.write(JSON.stringify(listing, null, 2) + '\n');
    return;
  }
  const { pricing } = listing;
  const lines: [string, string][] = [
    ['id', listing.id],
    ['title', listing.title],
    ['owner', listing.owner],
    ['workflow', `${listing.workflow_id} v${listing.workflow_version} (${listing.workflow_digest.slice(0, 12)}…)`],
    ['status', listing.status],
    ['pricing', priceText(listing)],
    ...(pricing.model === 'subscription'
      ? [['quota', `${pricing.included_executions} included, then ${pricing.over_quota}`] as [string, string]]
      : []),
    ['level', listing.verification_level],
    [
      'access',
      listing.is_public
        ? 'public'
        : `private${listing.authorized_users ? `: ${listing.authorized_users.join(', ') || 'owner only'}` : ''}`,
    ],
    ['tags', listing.tags.join(', ')],
    ['rating', listing.rating === null ? 'none yet' : `${listing.rating.toFixed(2)} (${listing.rating_count})`],
    [
      'runs',
      `${listing.total_executions} completed${listing.success_rate === null ? '' : `, ${Math.round(listing.success_rate * 100)}% success`}${listing.median_duration_ms === null ? '' : `, median ${listing.median_duration_ms} ms`}`,
    ],
  ];
  console.log(table(lines.map(([k, v]) => [k, v])));
  if (listing.description) console.log(`\n${listing.description}`);
}

function priceText(listing: ListingView): string {
  const { pricing } = listing;
  switch (pricing.model) {
    case 'per_execution':
      return `per_execution: ${listing.execution_price} micro-units a completed run`;
    case 'per_usage':
      return `per_usage: compute + ${pricing.markup_bps} bps, at most ${pricing.max_price ?? 0} micro-units`;
    case 'subscription':
      return `subscription: ${listing.subscription_price} micro-units a period, ${listing.execution_price} a run past the quota`;
  }
}

export function registerMarket(program: Command): void {
  const market = program
    .command('market')
    .description(
      'the marketplace: list, publish, manage and run listings; prices in integer micro-units (1 unit = 1000000)',
    );
  registerMarketRun(market);
  registerMarketSubscriptions(market);

  withMarketOptions(
    market
      .command('list')
      .description('search the listings you may see (active ones; your own paused ones too)')
      .argument('[query...]', 'words that must all occur in the title, description or tags')
      .option('--tag <tag>', 'only listings with this tag')
      .option('--sort <sort>', 'rating, executions, price or newest', 'newest')
      .option('--limit <n>', 'how many, 1 to 100', '20')
      .option('--cursor <cursor>', 'the page after a previous one (printed on stderr when there is more)'),
  ).action(
    async (words: string[], flags: MarketFlags & { tag?: string; sort: string; limit: string; cursor?: string }) => {
      const query = parsed(listingSearchQuery, {
        ...(words.length > 0 && { q: words.join(' ') }),
        ...(flags.tag !== undefined && { tag: flags.tag }),
        sort: flags.sort,
        limit: flags.limit,
        ...(flags.cursor !== undefined && { cursor: flags.cursor }),
      });
      const page = await onServerOrStore<ListingPage>(
        flags,
        (client) => client.searchListings(query),
        async (store) => {
          const actor = actorOf(flags);
          const found = await searchListings(store.read, actor, query);
          return {
            listings: await listingViews(store.read, actor, found.listings),
            ...(found.nextCursor !== undefined && { next_cursor: found.nextCursor }),
          };
        },
      );
      if (flags.json) {
        process.stdout.write(JSON.stringify(page, null, 2) + '\n');
        return;
      }
      if (page.listings.length === 0) console.error('no listings');
      else {
        console.log(
          table([
            ['ID', 'TITLE', 'OWNER', 'PRICING', 'RATING', 'RUNS', 'STATUS'],
            ...page.listings.map((l) => [
              l.id,
              l.title.length > 40 ? `${l.title.slice(0, 39)}…` : l.title,
              l.owner,
              priceText(l).split(':')[0]!,
              l.rating === null ? '-' : l.rating.toFixed(2),
              String(l.total_executions),
              l.status,
            ]),
          ]),
        );
      }
      if (page.next_cursor !== undefined) console.error(`more: --cursor ${page.next_cursor}`);
    },
  );

  withMarketOptions(
    market
      .command('show')
      .description('show one listing, with its rating and run stats')
      .argument('<id>', 'the listing id'),
  ).action(async (id: string, flags: MarketFlags) => {
    const listing = await onServerOrStore<ListingView>(
      flags,
      (client) => client.getListing(id),
      async (store) => {
        const actor = actorOf(flags);
        return (
          await listingViews(store.read, actor, [await getListing(store.read, actor, id)], { withDefinition: true })
        )[0]!;
      },
    );
    print(listing, flags.json);
  });

  withMarketOptions(
    withListingOptions(
      market
        .command('publish')
        .description('list a workflow version you own (locally: --as the owner)')
        .argument('<workflow-id>', 'the published workflow to list')
        .option('--workflow-version <n>', 'the workflow version (default: the latest)'),
    ),
  ).action(async (workflowId: string, flags: MarketFlags & ListingFlags) => {
    const request = requestOf(flags);
    // Without a model, a fixed price per completed run: the plainest listing there is.
    request.pricing ??= { model: 'per_execution' };
    const body = parsed(createListingRequest, { ...request, workflow_id: workflowId });
    const listing = await onServerOrStore<ListingView>(
      flags,
      (client) => client.createListing(body),
      async (store) => {
        if (flags.as === undefined) {
          throw new CliError('usage', 'locally, a listing needs an owner: --as PRINCIPAL (the owner of the workflow)');
        }
        const actor = actorOf(flags);
        const created = await createListing(store, actor, body, { feeBps: platformFeeBps() });
        return (await listingViews(store.read, actor, [created]))[0]!;
      },
    );
    if (!flags.json) console.error(`listed ${listing.workflow_id} v${listing.workflow_version} as ${listing.id}`);
    print(listing, flags.json);
  });

  withMarketOptions(
    withListingOptions(
      market
        .command('update')
        .description("change a listing's text, tags, prices, access or workflow version (its owner, or an admin)")
        .argument('<id>', 'the listing id')
        .option('--workflow-version <n>', 'move the listing to this version of its workflow'),
    ),
  ).action(async (id: string, flags: MarketFlags & ListingFlags) => {
    const change = parsed(updateListingRequest, requestOf(flags));
    if (Object.keys(change).length === 0) throw new CliError('usage', 'nothing to change: give at least one option');
    const listing = await onServerOrStore<ListingView>(
      flags,
      (client) => client.updateListing(id, change),
      async (store) => {
        const actor = actorOf(flags);
        const updated = await updateListing(store, actor, id, change, { feeBps: platformFeeBps() });
        return (await listingViews(store.read, actor, [updated]))[0]!;
      },
    );
    print(listing, flags.json);
  });

  const actions: [ListingAction, string][] = [
    ['pause', 'pause a listing: it leaves search and nothing new starts through it'],
    ['resume', 'resume a paused listing'],
    ['retire', 'retire a listing, for good'],
  ];
  for (const [action, description] of actions) {
    withMarketOptions(market.command(action).description(description).argument('<id>', 'the listing id')).action(
      async (id: string, flags: MarketFlags) => {
        const listing = await onServerOrStore<ListingView>(
          flags,
          (client) =>
            action === 'pause'
              ? client.pauseListing(id)
              : action === 'resume'
                ? client.resumeListing(id)
                : client.retireListing(id),
          async (store) => {
            const actor = actorOf(flags);
            return (await listingViews(store.read, actor, [await setListingStatus(store, actor, id, action)]))[0]!;
          },
        );
        if (flags.json) print(listing, true);
        else console.log(`listing ${listing.id} is ${listing.status}`);
      },
    );
  }
}
