import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics of one API server instance (its own registry, so tests can run several). */
export class ApiMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({
    name: 'idra_api_http_requests_total',
    help: 'HTTP requests answered, by method, route and status code',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });
  readonly latency = new Histogram({
    name: 'idra_api_http_request_duration_seconds',
    help: 'Time to answer HTTP requests, by method and route',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly etcdErrors = new Counter({
    name: 'idra_api_etcd_errors_total',
    help: 'etcd requests that failed (unreachable, timeout, refused)',
    labelNames: ['where'] as const,
    registers: [this.registry],
  });
  readonly logins = new Counter({
    name: 'idra_api_logins_total',
    help: 'Login attempts by outcome',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'idra_api_' });
    // Gauges named like counters (`promtool check metrics` refuses them): the per-type gauges without `_total` remain.
    for (const kind of ['handles', 'requests', 'resources']) this.registry.removeSingleMetric(`idra_api_nodejs_active_${kind}_total`);
  }
}
