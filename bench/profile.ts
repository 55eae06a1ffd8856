/** Reads a V8 `.cpuprofile` (node --cpu-prof) and names where the time went. */
import { readdir, readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
}

export interface Hotspot {
  name: string;
  percent: number;
  /** Its share of the profile's length: CPU time, but for idle. */
  ms: number;
}

/** The baseline's profile of a run is named as Conclave's, after this. */
export const BASELINE_PROFILE_PREFIX = 'baseline-';

/** Where a script lives, at the grain that explains a cost: a package, or a folder of our own code. */
export function sourceOf(url: string): string {
  if (!url) return '(native)';
  const dependency = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (dependency) return dependency[1]!;
  // The server under test runs compiled: dist/ holds src/'s folders.
  const own = /\/(src|dist|bench)\/(?:(.*)\/)?[^/]+$/.exec(url);
  if (own) return `${own[1] === 'dist' ? 'src' : own[1]}${own[2] ? `/${own[2]}` : ''}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^.*\//, '');
}

const transportPackages = /^(socket\.io|socket\.io-parser|socket\.io-adapter|engine\.io|engine\.io-parser|ws|@socket\.io\/.*|base64id|cors)$/;
const socketWrites = new Set(['writev', 'writeUtf8String', 'writeLatin1String', 'writeBuffer', 'writeAsciiString']);

/** The layer that spent a sample: what the report needs to say what limits a run. */
function layerOf(functionName: string, source: string): string {
  if (functionName === '(idle)') return 'idle';
  if (functionName === '(garbage collector)') return 'garbage collection';
  if (socketWrites.has(functionName)) return 'socket write syscalls';
  if (source === 'src' || source.startsWith('src/')) return 'Conclave (src/)';
  if (transportPackages.test(source)) return 'Socket.IO, Engine.IO, ws';
  if (source.startsWith('node:')) return 'Node core (net, streams, http, events, timers)';
  if (source === 'better-sqlite3') return 'SQLite';
  return source === '(native)' ? 'other native' : 'other packages';
}

function top(totals: Map<string, number>, all: number, lengthMs: number, count: number): Hotspot[] {
  return [...totals]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, hits]) => ({ name, percent: (hits / all) * 100, ms: (hits / all) * lengthMs }));
}

/**
 * Self time by function and by source, as shares of all samples (idle included, so shares say how
 * busy it was). A native function without a script of its own counts for the nearest script that
 * called it: SQLite's statements for the store that ran them, an HMAC's digest for node:crypto.
 */
export async function hotspots(file: string, count = 10): Promise<{ layers: Hotspot[]; functions: Hotspot[]; sources: Hotspot[] }> {
  const profile = JSON.parse(await readFile(file, 'utf8')) as CpuProfile;
  const parents = new Map<number, ProfileNode>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node);
  const scriptOf = (node: ProfileNode): string => {
    for (let caller: ProfileNode | undefined = node; caller; caller = parents.get(caller.id)) {
      if (caller.callFrame.url) return caller.callFrame.url;
    }
    return '';
  };
  const functions = new Map<string, number>();
  const sources = new Map<string, number>();
  const layers = new Map<string, number>();
  let all = 0;
  for (const node of profile.nodes) {
    const hits = node.hitCount ?? 0;
    if (hits === 0) continue;
    all += hits;
    const { functionName, url, lineNumber } = node.callFrame;
    const source = sourceOf(scriptOf(node));
    const name = `${functionName || '(anonymous)'} ${source}${url ? `:${lineNumber + 1}` : ''}`;
    functions.set(name, (functions.get(name) ?? 0) + hits);
    sources.set(source, (sources.get(source) ?? 0) + hits);
    const layer = layerOf(functionName, source);
    layers.set(layer, (layers.get(layer) ?? 0) + hits);
  }
  const lengthMs = (profile.endTime - profile.startTime) / 1_000;
  return {
    layers: top(layers, all, lengthMs, layers.size),
    functions: top(functions, all, lengthMs, count),
    sources: top(sources, all, lengthMs, count),
  };
}

/**
 * Prints the hotspots of every Conclave `.cpuprofile` in `directory`, each named "<what> "<file's name>"",
 * with each layer's CPU time beside the baseline's where the baseline did the same work.
 */
export async function printProfiles(directory: string, what: string): Promise<void> {
  const names = await readdir(directory);
  for (const name of names) {
    if (!name.endsWith('.cpuprofile') || name.startsWith(BASELINE_PROFILE_PREFIX)) continue;
    const { layers, functions, sources } = await hotspots(`${directory}/${name}`);
    console.log(`\nserver CPU profile of the ${what} "${name.replace('.cpuprofile', '')}" (${directory}/${name})`);
    const twin = `${BASELINE_PROFILE_PREFIX}${name}`;
    if (names.includes(twin)) printLayersBeside(layers, (await hotspots(`${directory}/${twin}`)).layers);
    else {
      console.log('  self time by layer:');
      for (const spot of layers) console.log(`    ${spot.percent.toFixed(1).padStart(5)}%  ${spot.name}`);
    }
    console.log('  self time by source:');
    for (const spot of sources) console.log(`    ${spot.percent.toFixed(1).padStart(5)}%  ${spot.name}`);
    console.log('  self time by function:');
    for (const spot of functions) console.log(`    ${spot.percent.toFixed(1).padStart(5)}%  ${spot.name}`);
  }
}

/** Each layer's self time in ms, Conclave's and the bare server's for the same work: what Conclave adds, layer by layer. */
function printLayersBeside(conclave: Hotspot[], baseline: Hotspot[]): void {
  const msOf = (spots: Hotspot[], layer: string) => spots.find((spot) => spot.name === layer)?.ms ?? 0;
  const busyMs = (spots: Hotspot[]) => spots.reduce((sum, spot) => sum + (spot.name === 'idle' ? 0 : spot.ms), 0);
  const layerNames = [...new Set([...conclave, ...baseline].map((spot) => spot.name))].filter((layer) => layer !== 'idle');
  const cell = (ms: number) => ms.toFixed(0).padStart(8);
  console.log(`  self time by layer (ms), Conclave's share, then the bare server's doing the same work:`);
  for (const layer of layerNames.sort((a, b) => msOf(conclave, b) - msOf(conclave, a))) {
    const share = conclave.find((spot) => spot.name === layer)?.percent ?? 0;
    console.log(`    ${share.toFixed(1).padStart(5)}% ${cell(msOf(conclave, layer))} ${cell(msOf(baseline, layer))}  ${layer}`);
  }
  console.log(`           ${cell(busyMs(conclave))} ${cell(busyMs(baseline))}  busy (idle left out)`);
}
