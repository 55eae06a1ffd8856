import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every TypeScript file under a folder of the repository, as a repository-relative path. */
function sourcesUnder(folder: string): string[] {
  return readdirSync(join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts'))
    .map((file) => join(folder, file).split('\\').join('/'));
}

/** What a file imports: repository-relative `.ts` paths for its own modules, bare names for packages and built-ins. */
function importsOf(file: string): string[] {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  return importedFiles.map(({ fileName }) => {
    if (!fileName.startsWith('.')) return fileName;
    return relative(root, resolve(root, dirname(file), fileName)).split('\\').join('/').replace(/\.js$/, '.ts');
  });
}

interface Rule {
  files: string[];
  forbidden: RegExp;
  why: string;
}

const serverParts = /^src\/(management|portal|conference|cluster)\//;
/** The web pages are bundled for the browser; the build script beside them runs in Node and writes where the API serves. */
const webPages = sourcesUnder('web').filter((file) => file !== 'web/build.ts');

const rules: Rule[] = [
  { files: sourcesUnder('src/client'), forbidden: serverParts, why: 'the client library ships to users' },
  { files: webPages, forbidden: serverParts, why: 'the web pages run in browsers' },
  { files: sourcesUnder('src/portal'), forbidden: /^src\/management\//, why: 'portal and management meet only in src/protocol' },
  { files: sourcesUnder('src/management'), forbidden: /^src\/portal\//, why: 'portal and management meet only in src/protocol' },
  {
    files: sourcesUnder('src/protocol'),
    forbidden: /^src\/(?!protocol\/)|^(?!node:|\.|src\/)/,
    why: 'the contracts depend on nothing of the server and on no package',
  },
];

/** The files a bundler would pull in from `entries`, following the repository's own modules. */
function closureOf(entries: string[]): Map<string, string[]> {
  const seen = new Map<string, string[]>();
  const pending = [...entries];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (seen.has(file)) continue;
    const imports = importsOf(file);
    seen.set(file, imports);
    pending.push(...imports.filter((target) => target.startsWith('src/') || target.startsWith('web/')));
  }
  return seen;
}

describe('the import graph', () => {
  for (const rule of rules) {
    const folder = rule.files[0]!.split('/').slice(0, -1).join('/');
    test(`${folder} keeps to its side of the boundary (${rule.why})`, () => {
      const edges = rule.files.flatMap((file) => importsOf(file).filter((target) => rule.forbidden.test(target)).map((target) => `${file} -> ${target}`));
      assert.deepEqual(edges, []);
    });
  }

  test('what the browser loads (client library, web pages) reaches no Node built-in and no Ajv', () => {
    const graph = closureOf([...sourcesUnder('src/client'), ...webPages]);
    const edges = [...graph].flatMap(([file, imports]) =>
      imports.filter((target) => target.startsWith('node:') || /^ajv/.test(target)).map((target) => `${file} -> ${target}`),
    );
    assert.deepEqual(edges, []);
  });

  test('the rules see the files they guard', () => {
    for (const rule of rules) assert.ok(rule.files.length > 0, rule.why);
    assert.ok(importsOf('src/portal/portal.ts').includes('src/protocol/socket.ts'));
  });
});
