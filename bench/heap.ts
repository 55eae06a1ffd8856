/** Reads two V8 heap snapshots of one process and names what grew between them, per participant held. */
import { readFile } from 'node:fs/promises';
import { sourceOf } from './profile.js';

interface HeapSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

interface Growth {
  count: number;
  bytes: number;
}

interface Census {
  /** By what an object is: its constructor, or V8's kind for strings, arrays, code and closures. */
  kinds: Map<string, Growth>;
  /** Closures by the package or folder of our own code whose function they are. */
  closures: Map<string, Growth>;
}

function tally(into: Map<string, Growth>, key: string, bytes: number): void {
  const growth = into.get(key) ?? { count: 0, bytes: 0 };
  growth.count += 1;
  growth.bytes += bytes;
  into.set(key, growth);
}

function kindOf(type: string, name: string): string {
  if (type === 'object' || type === 'native') return name;
  if (type.endsWith('string')) return '(strings)';
  // V8's own arrays say what they hold: an object's properties, its elements, a context's slots.
  if (type === 'array' && name.startsWith('(')) return `(array) ${name}`;
  return `(${type})`;
}

/** Edges that lead from a function to its code and script, as V8 names them. */
const linkTypes = new Set(['internal', 'property', 'context']);

async function census(file: string): Promise<Census> {
  const heap = JSON.parse(await readFile(file, 'utf8')) as HeapSnapshot;
  const { node_fields: nodeFields, node_types: [nodeTypes], edge_fields: edgeFields, edge_types: [edgeTypes] } = heap.snapshot.meta;
  const nodeWidth = nodeFields.length;
  const edgeWidth = edgeFields.length;
  const [typeAt, nameAt, sizeAt, edgeCountAt] = ['type', 'name', 'self_size', 'edge_count'].map((field) => nodeFields.indexOf(field)) as [number, number, number, number];
  const [edgeTypeAt, edgeNameAt, edgeToAt] = ['type', 'name_or_index', 'to_node'].map((field) => edgeFields.indexOf(field)) as [number, number, number];
  const { nodes, edges, strings } = heap;
  const firstEdge: number[] = [];
  for (let node = 0, edge = 0; node < nodes.length; node += nodeWidth) {
    firstEdge.push(edge);
    edge += nodes[node + edgeCountAt]! * edgeWidth;
  }
  firstEdge.push(edges.length);
  /** The node an edge named one of `names` leads to, or -1. */
  const follow = (node: number, ...names: string[]): number => {
    const index = node / nodeWidth;
    for (let edge = firstEdge[index]!; edge < firstEdge[index + 1]!; edge += edgeWidth) {
      if (linkTypes.has(edgeTypes[edges[edge + edgeTypeAt]!]!) && names.includes(strings[edges[edge + edgeNameAt]!]!)) return edges[edge + edgeToAt]!;
    }
    return -1;
  };
  const scriptOf = (closure: number): string => {
    const shared = follow(closure, 'shared');
    const script = shared < 0 ? -1 : follow(shared, 'script', 'script_or_debug_info');
    const name = script < 0 ? -1 : follow(script, 'name');
    return name < 0 ? '(native)' : sourceOf(strings[nodes[name + nameAt]!]!);
  };
  const kinds = new Map<string, Growth>();
  const closures = new Map<string, Growth>();
  for (let node = 0; node < nodes.length; node += nodeWidth) {
    const type = nodeTypes[nodes[node + typeAt]!]!;
    const bytes = nodes[node + sizeAt]!;
    tally(kinds, kindOf(type, strings[nodes[node + nameAt]!]!), bytes);
    if (type === 'closure') tally(closures, strings[nodes[node + nameAt]!] === 'native_bind' ? '(bound functions)' : scriptOf(node), bytes);
  }
  return { kinds, closures };
}

function printGrowth(title: string, before: Map<string, Growth>, after: Map<string, Growth>, held: number, rows: number): void {
  const grown = [...after].map(([key, { count, bytes }]) => {
    const was = before.get(key) ?? { count: 0, bytes: 0 };
    return { key, count: (count - was.count) / held, bytes: (bytes - was.bytes) / held };
  });
  grown.sort((a, b) => b.bytes - a.bytes);
  const total = grown.reduce((sum, row) => sum + row.bytes, 0);
  console.log(`  ${title} (${(total / 1024).toFixed(1)} KB in all):`);
  for (const row of grown.slice(0, rows)) {
    console.log(`    ${row.bytes.toFixed(0).padStart(6)} B  ${row.count.toFixed(1).padStart(5)}×  ${row.key}`);
  }
}

/** Prints, per participant held, what the heap gained between `beforeFile` and `afterFile` by kind, and its closures by source. */
export async function printHeapGrowth(beforeFile: string, afterFile: string, held: number): Promise<void> {
  const before = await census(beforeFile);
  const after = await census(afterFile);
  console.log(`\nserver heap per participant held (${held}), from snapshots ${beforeFile} and ${afterFile}`);
  printGrowth('by kind', before.kinds, after.kinds, held, 20);
  printGrowth('closures by source', before.closures, after.closures, held, 8);
}
