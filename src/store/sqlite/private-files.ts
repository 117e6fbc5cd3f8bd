import { chmodSync, closeSync, mkdirSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/** The files SQLite keeps for one database in WAL mode. */
const SUFFIXES = ['', '-wal', '-shm'] as const;

/**
 * Makes a database file readable by its owner only, before SQLite opens it: the database holds API key
 * hashes, every client's inputs and results, and sits in a data directory that is itself private. SQLite
 * creates a missing file 0644 (less the umask) and gives its -wal and -shm files the mode of the database
 * file, so creating the database 0600 first covers all three. Files an older Verity created 0644 are
 * tightened too; one this user may not chmod is left as it is, for SQLite to open or refuse as before.
 */
export function preparePrivateDatabaseFile(file: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  closeSync(openSync(file, 'a', 0o600));
  for (const suffix of SUFFIXES) {
    const path = `${file}${suffix}`;
    try {
      if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
    } catch {
      // Absent (no -wal or -shm yet) or not ours to change: nothing to tighten.
    }
  }
}
