/**
 * The tables of the PostgreSQL blob store, created by the store's migration 17 on PostgreSQL only (SQLite
 * gets none: blobs in the database need the database that replicas share). A blob is one row of
 * `blob_contents`, written in the same transaction as its chunks, so a reader that sees the row sees every
 * chunk. Chunks keep each value well under PostgreSQL's 1 GB limit and let a reader stream a large blob
 * one chunk at a time. They are stored uncompressed (STORAGE EXTERNAL): images and models are compressed
 * already, and a blob is read far more often than written.
 */
export const BLOB_CONTENTS_DDL: readonly string[] = [
  `CREATE TABLE blob_contents (
    digest TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    chunks INTEGER NOT NULL,
    created_at BIGINT NOT NULL
  )`,
  `CREATE TABLE blob_chunks (
    digest TEXT NOT NULL REFERENCES blob_contents (digest),
    seq INTEGER NOT NULL,
    bytes BYTEA NOT NULL,
    PRIMARY KEY (digest, seq)
  )`,
  'ALTER TABLE blob_chunks ALTER COLUMN bytes SET STORAGE EXTERNAL',
];
