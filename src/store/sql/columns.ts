/**
 * How records map to rows: camelCase fields to snake_case columns, JSON fields to text. One description per
 * table drives inserts, updates and reads, so a field cannot be written one way and read another.
 */
export type SqlValue = string | number | null;
export type Row = Record<string, unknown>;

/** `bool`: 0/1 in an integer column on both databases, so a filter on it is a plain comparison. */
type Kind = 'text' | 'int' | 'json' | 'bool';

export interface Table<R> {
  readonly name: string;
  readonly fields: readonly (keyof R & string)[];
  column(field: keyof R & string): string;
  /** Record → column values, for the given fields (all by default). Absent optional fields become NULL. */
  values(record: Partial<R>, fields?: readonly (keyof R & string)[]): SqlValue[];
  fromRow(row: Row): R;
  readonly columns: string;
}

export function table<R>(name: string, spec: { [K in keyof R & string]-?: Kind }): Table<R> {
  const fields = Object.keys(spec) as (keyof R & string)[];
  const columnOf = new Map(fields.map((f) => [f, f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]));
  const encode = (kind: Kind, value: unknown): SqlValue => {
    if (value === undefined) return null;
    if (kind === 'json') return JSON.stringify(value);
    if (kind === 'bool') return value ? 1 : 0;
    return value as SqlValue;
  };
  return {
    name,
    fields,
    column: (field) => columnOf.get(field)!,
    columns: fields.map((f) => columnOf.get(f)!).join(', '),
    values: (record, only = fields) => only.map((f) => encode(spec[f], record[f])),
    fromRow(row) {
      const out: Record<string, unknown> = {};
      for (const f of fields) {
        const raw = row[columnOf.get(f)!];
        if (raw === null || raw === undefined) continue;
        const kind = spec[f];
        out[f] =
          kind === 'json'
            ? JSON.parse(raw as string)
            : kind === 'int'
              ? Number(raw)
              : kind === 'bool'
                ? Number(raw) !== 0
                : raw;
      }
      return out as R;
    },
  };
}

/** `?, ?, ?`; for none, `NULL`, so that `x IN (NULL)` matches nothing on both databases (PostgreSQL rejects `IN ()`). */
export function placeholders(count: number): string {
  if (count === 0) return 'NULL';
  return Array.from({ length: count }, () => '?').join(', ');
}

/**
 * One table of a join that reads several records in one statement: its columns under a table alias,
 * renamed `<alias>_<column>`, and the record taken back out of such a row (undefined when the join found
 * no row for it: its first column, the key, is NULL).
 */
export interface Aliased<R> {
  readonly select: string;
  read(row: Row): R | undefined;
}

export function aliased<R>(table: Table<R>, alias: string): Aliased<R> {
  const pairs = table.fields
    .map((field) => table.column(field))
    .map((column) => [`${alias}_${column}`, column] as const);
  return {
    select: pairs.map(([as, column]) => `${alias}.${column} AS ${as}`).join(', '),
    read(row) {
      const key = row[pairs[0]![0]];
      if (key === null || key === undefined) return undefined;
      const out: Row = {};
      for (const [as, column] of pairs) out[column] = row[as];
      return table.fromRow(out);
    },
  };
}
