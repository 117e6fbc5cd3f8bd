import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The repository's docs stand alone: every link leads to a file of this repository (and, with an anchor, to
// a heading that exists), and nothing in prose points anywhere else. Server addresses such as
// http://127.0.0.1:8080 belong in code, where nothing renders them as links.

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

function markdownUnder(dir: string, only?: (name: string) => boolean): string[] {
  const full = join(root, dir);
  if (!existsSync(full)) return [];
  return (readdirSync(full, { recursive: true }) as string[])
    .filter((name) => name.endsWith('.md') && !name.split(sep).includes('node_modules'))
    .filter((name) => (only ? only(name) : true))
    .map((name) => join(dir, name))
    .sort();
}

const files = [
  'README.md',
  ...markdownUnder('docs'),
  ...(existsSync(join(root, 'bench', 'RESULTS.md')) ? ['bench/RESULTS.md'] : []),
  ...markdownUnder('examples', (name) => name.split(sep).at(-1) === 'README.md'),
];

/** The text outside fenced code blocks, line by line (fenced lines become empty, so line numbers hold). */
function prose(text: string): string[] {
  let fence: string | undefined;
  return text.split('\n').map((line) => {
    const marker = /^\s{0,3}(`{3,}|~{3,})/.exec(line)?.[1];
    if (fence !== undefined) {
      if (marker !== undefined && marker[0] === fence[0] && marker.length >= fence.length && line.trim() === marker)
        fence = undefined;
      return '';
    }
    if (marker !== undefined) {
      fence = marker;
      return '';
    }
    return line;
  });
}

/** Inline code spans blanked out (their text is code, never a link); a span may run over lines of one paragraph. */
function withoutCodeSpans(lines: string[]): string[] {
  return lines
    .join('\n')
    .replace(/(`+)(?:(?!\n[ \t]*\n)[\s\S])*?\1/g, (span) => span.replace(/[^\n]/g, ' '))
    .split('\n');
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens, repeats numbered. */
function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const line of prose(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const plain = heading
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, '$1')
      .replace(/<[^>]+>/g, '')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s_-]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(plain) ?? 0;
    seen.set(plain, count + 1);
    anchors.add(count === 0 ? plain : `${plain}-${count}`);
  }
  return anchors;
}

interface Link {
  file: string;
  line: number;
  target: string;
}

function linksOf(file: string, text: string): { links: Link[]; bareUrls: Link[] } {
  const links: Link[] = [];
  const bareUrls: Link[] = [];
  withoutCodeSpans(prose(text)).forEach((line, index) => {
    const at = index + 1;
    let rest = line;
    for (const m of line.matchAll(/!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]*)>?(?:\s+["'(][^)]*)?\)/g)) {
      links.push({ file, line: at, target: m[1]! });
      rest = rest.replace(m[0], ' ');
    }
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (definition) {
      links.push({ file, line: at, target: definition[1]! });
      rest = '';
    }
    for (const m of rest.matchAll(/<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi)) links.push({ file, line: at, target: m[1]! });
    for (const m of rest
      .replace(/<[a-z][a-z0-9+.-]*:[^>\s]*>/gi, ' ')
      .matchAll(/\b(?:https?:\/\/|www\.)[^\s)>\]]+/gi)) {
      bareUrls.push({ file, line: at, target: m[0] });
    }
  });
  return { links, bareUrls };
}

function problemOf(link: Link): string | undefined {
  const { target } = link;
  if (target === '') return 'an empty link';
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) {
    return "a link out of the repository (the docs stand alone; a local server's address goes in code)";
  }
  if (target.startsWith('/')) return 'an absolute path: write it relative to the file';
  const hash = target.indexOf('#');
  const path = decodeURIComponent(hash === -1 ? target : target.slice(0, hash)).replace(/\?.*$/, '');
  const anchor = hash === -1 ? undefined : decodeURIComponent(target.slice(hash + 1));
  const resolved = path === '' ? join(root, link.file) : resolve(root, dirname(link.file), path);
  const inRepo = relative(root, resolved);
  if (inRepo.startsWith('..') || resolve(root, inRepo) !== resolved) return 'a path that leaves the repository';
  if (!existsSync(resolved)) return `a path that does not exist (${inRepo})`;
  if (anchor !== undefined) {
    if (!resolved.endsWith('.md') || !statSync(resolved).isFile())
      return 'an anchor into something that is not a markdown file';
    if (!anchorsOf(readFileSync(resolved, 'utf8')).has(anchor))
      return `no heading with the anchor #${anchor} in ${inRepo}`;
  }
  return undefined;
}

describe('documentation links', () => {
  it('finds the documents', () => {
    expect(files).toContain('README.md');
    expect(files.filter((f) => f.startsWith('docs'))).not.toHaveLength(0);
  });

  for (const file of files) {
    it(`${file}: every link stays in the repository and leads somewhere`, () => {
      const { links, bareUrls } = linksOf(file, readFileSync(join(root, file), 'utf8'));
      const problems = [
        ...links.flatMap((link) => {
          const problem = problemOf(link);
          return problem === undefined ? [] : [`${link.file}:${link.line}: ${link.target}: ${problem}`];
        }),
        ...bareUrls.map(
          (url) =>
            `${url.file}:${url.line}: ${url.target}: an address in prose (GitHub makes it a link); put it in code`,
        ),
      ];
      expect(problems).toEqual([]);
    });
  }
});

describe('the link checker itself', () => {
  it('slugs headings as GitHub does', () => {
    const anchors = anchorsOf(
      '# Verity\n## Zero-knowledge receipts (`verification_level: zk`)\n## The CLI\n## The CLI\n```\n# not a heading\n```\n',
    );
    expect([...anchors]).toEqual(['verity', 'zero-knowledge-receipts-verification_level-zk', 'the-cli', 'the-cli-1']);
  });

  it('refuses links out of the repository, missing files and anchors, and addresses in prose', () => {
    const { links, bareUrls } = linksOf(
      'docs/x.md',
      [
        '[a](https://example.com) [b](../../shared/DESIGN.md) [c](receipts.md#no-such-heading) [d](/README.md)',
        '[e](receipts.md) [f](../README.md#verity) `http://127.0.0.1:8080` see http://localhost:8080 now `{ "a":',
        '"http://127.0.0.1:1" }`',
        '```sh',
        'curl http://127.0.0.1:8080/healthz   # [g](https://example.com)',
        '```',
      ].join('\n'),
    );
    expect(links.map((l) => [l.target, problemOf(l) === undefined])).toEqual([
      ['https://example.com', false],
      ['../../shared/DESIGN.md', false],
      ['receipts.md#no-such-heading', false],
      ['/README.md', false],
      ['receipts.md', true],
      ['../README.md#verity', true],
    ]);
    expect(bareUrls.map((u) => u.target)).toEqual(['http://localhost:8080']);
  });
});
