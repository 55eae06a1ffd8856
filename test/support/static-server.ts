/** A small HTTP server on 127.0.0.1 that hands test pages fixed content, files and directories. */
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

/** What one URL path serves: a body, a file, or (for a path ending in `/`) the files of a directory. */
export type StaticSource = { body: string; type: string } | { file: string } | { directory: string };

export interface StaticServer {
  /** `http://127.0.0.1:port`, a secure context as far as the browser is concerned. */
  url: string;
  close(): Promise<void>;
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** The file under `directory` that `rest` names, or undefined when it would climb out of it. */
function inside(directory: string, rest: string): string | undefined {
  const path = normalize(join(directory, decodeURIComponent(rest)));
  return path.startsWith(normalize(directory + sep)) ? path : undefined;
}

export async function startStaticServer(routes: Record<string, StaticSource>): Promise<StaticServer> {
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const answer = async (): Promise<{ content: string | Buffer; type: string } | undefined> => {
      for (const [route, source] of Object.entries(routes)) {
        if ('body' in source && route === path) return { content: source.body, type: source.type };
        if ('file' in source && route === path) return { content: await readFile(source.file), type: contentTypes[extname(source.file)]! };
        if ('directory' in source && path.startsWith(route)) {
          const file = inside(source.directory, path.slice(route.length));
          if (file) return { content: await readFile(file), type: contentTypes[extname(file)] ?? 'application/octet-stream' };
        }
      }
      return undefined;
    };
    answer().then(
      (found) => {
        if (found) response.writeHead(200, { 'content-type': found.type, 'cache-control': 'no-store' }).end(found.content);
        else response.writeHead(404).end();
      },
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
