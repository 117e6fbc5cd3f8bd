import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { CliError } from './errors.js';

/**
 * `--input` takes inline JSON or `@file` (JSON or YAML). No input means `{}`.
 */
export function readInputOption(value: string | undefined): unknown {
  if (value === undefined) return {};
  if (value.startsWith('@')) {
    const file = value.slice(1);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CliError('usage', `--input: cannot read ${file}: ${(error as Error).message}`);
    }
    try {
      return /\.ya?ml$/i.test(file) ? (parseYaml(text) as unknown) : (JSON.parse(text) as unknown);
    } catch (error) {
      throw new CliError(
        'usage',
        `--input: ${file} is not valid ${/\.ya?ml$/i.test(file) ? 'YAML' : 'JSON'}: ${(error as Error).message}`,
      );
    }
  }
  try {
    return JSON.parse(value) as unknown;
  } catch (error) {
    throw new CliError('usage', `--input: not valid JSON (${(error as Error).message}); pass JSON or @file.json`);
  }
}

export function parseNonNegativeInt(name: string, value: string): number {
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value))) {
    throw new CliError('usage', `${name} must be a non-negative integer, not "${value}"`);
  }
  return Number(value);
}

/** A file's text, or a usage error naming the flag (or what it is) and the file. */
export function readText(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new CliError('usage', `cannot read ${what} ${path}: ${(error as Error).message}`);
  }
}
