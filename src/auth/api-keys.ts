import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ApiKeyRecord, Role } from '../store/records.js';
import { ROLES } from '../store/records.js';
import type { Store } from '../store/store.js';
import { AuthError } from './errors.js';

/**
 * API keys: `vrt_<id>_<secret>`, where the id finds the key and the secret proves it. Only the SHA-256 of
 * the secret is stored (the secret is 32 random bytes, so a plain hash is as strong as a slow one); the
 * token itself exists once, when it is created.
 */
const TOKEN = /^vrt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const PRINCIPAL = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

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

export class ApiKeys {
  /** When a key was last marked used, so a busy key writes its last_used_at at most once a minute. */
  private readonly touched = new Map<string, number>();

  constructor(private readonly store: Store) {}

  async create(principal: string, role: Role): Promise<CreatedKey> {
    if (!ROLES.includes(role)) throw new AuthError('invalid_role', `role must be one of ${ROLES.join(', ')}, not "${role}"`);
    if (!PRINCIPAL.test(principal)) {
      throw new AuthError('invalid_principal', `the name "${principal}" must be 1 to 64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit`);
    }
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
    const record = await this.store.read.getApiKey(parsed.id);
    if (!record || record.revokedAt !== undefined) return undefined;
    const given = Buffer.from(hashSecret(parsed.secret), 'hex');
    const stored = Buffer.from(record.secretHash, 'hex');
    if (given.length !== stored.length || !timingSafeEqual(given, stored)) return undefined;
    const now = Date.now();
    if ((this.touched.get(record.id) ?? 0) < now - 60_000) {
      this.touched.set(record.id, now);
      await this.store.transaction((tx) => tx.updateApiKey(record.id, { lastUsedAt: now }));
    }
    return record;
  }

  async revoke(id: string): Promise<ApiKeyRecord> {
    const record = await this.store.read.getApiKey(id);
    if (!record) throw new AuthError('unknown_key', `no API key ${id}; see \`verity keys list\``);
    if (record.revokedAt === undefined) await this.store.transaction((tx) => tx.updateApiKey(id, { revokedAt: Date.now() }));
    return { ...record, revokedAt: record.revokedAt ?? Date.now() };
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
