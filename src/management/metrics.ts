/** Prometheus text exposition of the API's request counts and the process's vital signs. */
export class HttpMetrics {
  private readonly requests = new Map<string, { labels: string; count: number; seconds: number }>();

  record(method: string, route: string, status: number, seconds: number): void {
    const labels = `method="${escapeLabel(method)}",route="${escapeLabel(route)}",status="${status}"`;
    const entry = this.requests.get(labels) ?? { labels, count: 0, seconds: 0 };
    entry.count += 1;
    entry.seconds += seconds;
    this.requests.set(labels, entry);
  }

  render(): string {
    const entries = [...this.requests.values()];
    const cpu = process.cpuUsage();
    const memory = process.memoryUsage();
    const lines = [
      '# HELP conclave_management_http_requests_total Management API requests by route and status.',
      '# TYPE conclave_management_http_requests_total counter',
      ...entries.map((entry) => `conclave_management_http_requests_total{${entry.labels}} ${entry.count}`),
      '# HELP conclave_management_http_request_seconds_total Time spent answering, by route and status.',
      '# TYPE conclave_management_http_request_seconds_total counter',
      ...entries.map((entry) => `conclave_management_http_request_seconds_total{${entry.labels}} ${entry.seconds}`),
      '# HELP process_cpu_user_seconds_total User CPU time spent in seconds.',
      '# TYPE process_cpu_user_seconds_total counter',
      `process_cpu_user_seconds_total ${cpu.user / 1e6}`,
      '# HELP process_cpu_system_seconds_total System CPU time spent in seconds.',
      '# TYPE process_cpu_system_seconds_total counter',
      `process_cpu_system_seconds_total ${cpu.system / 1e6}`,
      '# HELP process_resident_memory_bytes Resident memory size in bytes.',
      '# TYPE process_resident_memory_bytes gauge',
      `process_resident_memory_bytes ${memory.rss}`,
      '# HELP nodejs_heap_size_used_bytes Process heap size used in bytes.',
      '# TYPE nodejs_heap_size_used_bytes gauge',
      `nodejs_heap_size_used_bytes ${memory.heapUsed}`,
      '# HELP nodejs_heap_size_total_bytes Process heap size in bytes.',
      '# TYPE nodejs_heap_size_total_bytes gauge',
      `nodejs_heap_size_total_bytes ${memory.heapTotal}`,
      '# HELP process_start_time_seconds Start time of the process since the epoch in seconds.',
      '# TYPE process_start_time_seconds gauge',
      `process_start_time_seconds ${Math.round(Date.now() / 1000 - process.uptime())}`,
    ];
    return `${lines.join('\n')}\n`;
  }
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
