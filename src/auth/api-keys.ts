import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKeyRecord, Role } from '../store/records.js';
import { ROLES } from '../store/records.js';
import type { Store } from '../store/store.js';
import { AuthError } from './errors.js';
import { principalNameProblem } from './principal.js';

/**
 * API keys: `vrt_<id>_<secret>`, where the id finds the key and the secret proves it. Only the SHA-256 of
 * the secret is stored (the secret is 32 random bytes, so a plain hash is as strong as a slow one); the
 * token itself exists once, when it is created.
 */
const TOKEN = /^vrt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function parseToken(token: string): { id: string; secret: string } | undefined {
  const match = TOKEN.exec(token);
  return match ? { id: match[1]!, secret: match[2]! } : undefined;
}

export interface CreatedKey {
  record: ApiKeyRecord;
  /** The one time the full token exists. */
  token: string;
}

export interface ApiKeysOptions {
  /**
   * How long a key read from the store is reused before it is read again (default 2 s; 0 reads every time).
   * Every request authenticates, so this saves a database read per request under load. A revoke through
   * this object takes effect at once; one made elsewhere (another replica, `verity keys revoke` on the data
   * directory) within this long.
   */
  cacheMs?: number;
  now?: () => number;
}

export class ApiKeys {
  /** When a key was last marked used, so a busy key writes its last_used_at at most once a minute. */
  private readonly touched = new Map<string, number>();
  private readonly cached = new Map<string, { record: ApiKeyRecord | undefined; until: number }>();
  private readonly cacheMs: number;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    options: ApiKeysOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 2_000;
    this.now = options.now ?? Date.now;
  }

  /** A key's record, from the cache while it is fresh. Unknown ids are cached too, so probing costs no reads. */
  private async lookup(id: string): Promise<ApiKeyRecord | undefined> {
    const now = this.now();
    const hit = this.cached.get(id);
    if (hit && hit.until > now) return hit.record;
    const record = await this.store.read.getApiKey(id);
    if (this.cacheMs > 0) {
      // Bounded: a flood of made-up ids must not grow the map without end.
      if (this.cached.size >= 10_000) this.cached.clear();
      this.cached.set(id, { record, until: now + this.cacheMs });
    }
    return record;
  }

  async create(principal: string, role: Role): Promise<CreatedKey> {
    if (!ROLES.includes(role))
      throw new AuthError('invalid_role', `role must be one of ${ROLES.join(', ')}, not "${role}"`);
    const problem = principalNameProblem(principal);
    if (problem !== undefined) throw new AuthError('invalid_principal', problem, { context: { field: 'principal' } });
    const id = randomBytes(8).toString('hex');
    const secret = randomBytes(32).toString('base64url');
    const record: ApiKeyRecord = { id, principal, role, secretHash: hashSecret(secret), createdAt: Date.now() };
    await this.store.transaction((tx) => tx.insertApiKey(record));
    return { record, token: `vrt_${id}_${secret}` };
  }

  /** The key a bearer token names, if the token is exactly that key's and it is not revoked. */
  async authenticate(token: string): Promise<ApiKeyRecord | undefined> {
    const parsed = parseToken(token);
    if (!parsed) return undefined;
    const record = await this.lookup(parsed.id);
    if (!record || record.revokedAt !== undefined) return undefined;
    const given = Buffer.from(hashSecret(parsed.secret), 'hex');
    const stored = Buffer.from(record.secretHash, 'hex');
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) return undefined;
    const now = this.now();
    if ((this.touched.get(record.id) ?? 0) < now - 60_000) {
      this.touched.set(record.id, now);
      await this.store.transaction((tx) => tx.updateApiKey(record.id, { lastUsedAt: now }));
    }
    return record;
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    const record = await this.store.read.getApiKey(id);
    if (!record) throw new AuthError('unknown_key', `no API key ${id}; see \`verity keys list\``);
    const revokedAt = record.revokedAt ?? this.now();
    if (record.revokedAt === undefined) await this.store.transaction((tx) => tx.updateApiKey(id, { revokedAt }));
    this.cached.delete(id);
    return { ...record, revokedAt };
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.store.read.listApiKeys();
  }

  /**
   * The first start of a server creates an admin key, writes it to `<dataDir>/admin.key` (mode 0600) and
   * returns it, so it can be shown once. Later starts, or a store that already has keys, return nothing.
   */
  async ensureAdmin(dataDir: string): Promise<string | undefined> {
    const file = join(dataDir, 'admin.key');
    if ((await this.list()).length > 0 || existsSync(file)) return undefined;
    const { token } = await this.create('admin', 'admin');
    writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'wx' });
    return token;
  }
}
