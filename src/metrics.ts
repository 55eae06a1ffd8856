import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenFailure } from './net/startup-errors.js';

/**
 * What the process's components count and measure, in Prometheus's text format. Counters and
 * timings accumulate for the process's life; a gauge is read from its component when rendered, for
 * as long as that component is registered.
 */
export type Labels = Readonly<Record<string, string>>;

interface Family {
  help: string;
  type: 'counter' | 'gauge' | 'summary';
  /** Rendered label set → value (a summary keeps `_sum` and `_count` under the same key). */
  values: Map<string, { sum: number; count: number }>;
}

type GaugeReader = () => ReadonlyArray<readonly [Labels, number]>;

/** Label sets passed as constants are rendered once; on a hot path, pass a constant. */
const renderedLabels = new WeakMap<Labels, string>();

export function labelText(labels: Labels): string {
  let text = renderedLabels.get(labels);
  if (text === undefined) {
    text = renderLabels(labels);
    renderedLabels.set(labels, text);
  }
  return text;
}

function renderLabels(labels: Labels): string {
  const pairs = Object.entries(labels).map(([key, value]) => `${key}="${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return pairs.length > 0 ? `{${pairs.join(',')}}` : '';
}

export class Metrics {
  private readonly families = new Map<string, Family>();
  private readonly gauges = new Map<string, { help: string; readers: Set<GaugeReader> }>();

  private family(name: string, help: string, type: Family['type']): Family {
    let family = this.families.get(name);
    if (!family) this.families.set(name, (family = { help, type, values: new Map() }));
    return family;
  }

  /** Adds `by` to a counter. */
  count(name: string, help: string, labels: Labels, by = 1): void {
    this.add(this.family(name, help, 'counter'), labels, by);
  }

  /** Records one duration, in seconds: rendered as `_sum` and `_count`. */
  observe(name: string, help: string, labels: Labels, seconds: number): void {
    this.add(this.family(name, help, 'summary'), labels, seconds);
  }

  private add({ values }: Family, labels: Labels, amount: number): void {
    const key = labelText(labels);
    let entry = values.get(key);
    if (!entry) {
      entry = { sum: 0, count: 0 };
      values.set(key, entry);
    }
    entry.sum += amount;
    entry.count += 1;
  }

  /** Registers a gauge's reader; the returned function unregisters it (when its component closes). */
  gauge(name: string, help: string, read: GaugeReader): () => void {
    let gauge = this.gauges.get(name);
    if (!gauge) this.gauges.set(name, (gauge = { help, readers: new Set() }));
    gauge.readers.add(read);
    return () => gauge.readers.delete(read);
  }

  render(): string {
    const lines: string[] = [];
    for (const [name, family] of this.families) {
      lines.push(`# HELP ${name} ${family.help}`, `# TYPE ${name} ${family.type}`);
      for (const [labels, { sum, count }] of family.values) {
        if (family.type === 'summary') lines.push(`${name}_sum${labels} ${sum}`, `${name}_count${labels} ${count}`);
        else lines.push(`${name}${labels} ${sum}`);
      }
    }
    for (const [name, { help, readers }] of this.gauges) {
      if (readers.size === 0) continue;
      lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`);
      for (const read of readers) for (const [labels, value] of read()) lines.push(`${name}${labelText(labels)} ${value}`);
    }
    return lines.length > 0 ? `${lines.join('\n')}\n` : '';
  }
}

/** The process's metrics: every component in it records here, and `/metrics` renders them. */
export const metrics = new Metrics();

/** The process's vital signs, under the names Prometheus's client libraries give them. */
function processVitals(): string {
  const cpu = process.cpuUsage();
  const memory = process.memoryUsage();
  const vitals: Array<[string, string, 'counter' | 'gauge', number]> = [
    ['process_cpu_user_seconds_total', 'User CPU time spent in seconds.', 'counter', cpu.user / 1e6],
    ['process_cpu_system_seconds_total', 'System CPU time spent in seconds.', 'counter', cpu.system / 1e6],
    ['process_resident_memory_bytes', 'Resident memory size in bytes.', 'gauge', memory.rss],
    ['nodejs_heap_size_used_bytes', 'Process heap size used in bytes.', 'gauge', memory.heapUsed],
    ['nodejs_heap_size_total_bytes', 'Process heap size in bytes.', 'gauge', memory.heapTotal],
    ['process_start_time_seconds', 'Start time of the process since the epoch in seconds.', 'gauge', Math.round(Date.now() / 1000 - process.uptime())],
  ];
  return vitals.map(([name, help, type, value]) => `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n${name} ${value}\n`).join('');
}

/** Everything `/metrics` serves: the components' figures, then the process's. */
export function renderMetrics(): string {
  return metrics.render() + processVitals();
}

/**
 * `GET /metrics` on a listener of its own (`metrics.host`:`metrics.port`), for processes that
 * serve no management API or to keep the figures off its port. Whoever reaches that address may
 * read them: the address is the access control.
 */
export async function startMetricsListener(host: string, port: number): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((request, response) => {
    const found = request.method === 'GET' && (request.url ?? '').split('?')[0] === '/metrics';
    response.writeHead(found ? 200 : 404, { 'content-type': found ? 'text/plain; version=0.0.4; charset=utf-8' : 'text/plain; charset=utf-8' });
    response.end(found ? renderMetrics() : 'Not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    const refuse = (error: Error) => reject(listenFailure('metrics', host, port, error));
    server.once('error', refuse);
    server.listen(port, host, () => {
      server.off('error', refuse);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
