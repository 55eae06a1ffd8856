/** Bundles the web pages for the browser into `dist/web/`, where the management API serves them. */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { WEB_ASSETS_DIR } from '../src/management/routes/web.js';

const sourceDir = fileURLToPath(new URL('.', import.meta.url));
const pages = ['join', 'admin'];
const staticFiles = ['join.html', 'admin.html', 'style.css', 'favicon.svg'];

export async function buildWebAssets(outDir = WEB_ASSETS_DIR): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: Object.fromEntries(pages.map((page) => [page, join(sourceDir, `${page}.ts`)])),
    outdir: outDir,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: true,
    sourcemap: 'linked',
    // The maps point stack traces at files and lines; the sources themselves are not served.
    sourcesContent: false,
    logLevel: 'warning',
  });
  await Promise.all(staticFiles.map((file) => copyFile(join(sourceDir, file), join(outDir, file))));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildWebAssets();
}
