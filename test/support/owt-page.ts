/**
 * Serves the OWT SDK test page: the unmodified OWT JavaScript SDK as ES modules straight from the
 * shared vendor directory (never copied into the project), Socket.IO's browser build as the global
 * `io` it expects, and the harness page (test/browser/pages/owt-harness.ts) built for the browser.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { startStaticServer, type StaticServer } from './static-server.js';

/** `sdk/` of owt-client-javascript; the project's checkouts sit beside the shared directory. */
export const OWT_SDK_DIR =
  process.env['OWT_SDK_DIR'] ?? fileURLToPath(new URL('../../../shared/vendor/owt-client-javascript/sdk/', import.meta.url));

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>OWT JavaScript SDK</title>
  <link rel="icon" href="data:,">
  <script src="/socket.io.js"></script>
  <script type="module" src="/harness.js"></script>
</head>
<body></body>
</html>
`;

export async function startOwtPageServer(): Promise<StaticServer> {
  if (!existsSync(join(OWT_SDK_DIR, 'export.js'))) {
    throw new Error(`no OWT JavaScript SDK at ${OWT_SDK_DIR}: put its src/sdk there or set OWT_SDK_DIR`);
  }
  const harness = await build({
    entryPoints: [fileURLToPath(new URL('../browser/pages/owt-harness.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109'],
    // The SDK stays the browser's own module graph, loaded file by file as published.
    external: ['/owt/*'],
    write: false,
    logLevel: 'warning',
  });
  return startStaticServer({
    '/': { body: PAGE, type: 'text/html; charset=utf-8' },
    '/harness.js': { body: harness.outputFiles[0]!.text, type: 'text/javascript; charset=utf-8' },
    '/socket.io.js': { file: fileURLToPath(import.meta.resolve('socket.io-client/dist/socket.io.js')) },
    '/owt/': { directory: OWT_SDK_DIR },
  });
}
