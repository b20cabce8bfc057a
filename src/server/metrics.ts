// Prometheus metrics of one server process: requests and their latency per route and status, and the models
// loaded. With several worker processes the primary adds up every worker's registry (prom-client's
// AggregatorRegistry) and a worker's /metrics asks it for the sum.

import { Counter, Gauge, Histogram, Registry } from "prom-client";

export class Metrics {
  readonly registry = new Registry();
  readonly requests: Counter<"method" | "route" | "status">;
  readonly latency: Histogram<"method" | "route" | "status">;
  readonly models: Gauge<"kind">;

  constructor() {
    this.requests = new Counter({
      name: "memn2n_http_requests_total",
      help: "HTTP requests answered, by method, route and status",
      labelNames: ["method", "route", "status"],
      registers: [this.registry],
    });
    this.latency = new Histogram({
      name: "memn2n_http_request_duration_seconds",
      help: "Time from a request's arrival to its response, by method, route and status",
      labelNames: ["method", "route", "status"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers: [this.registry],
    });
    this.models = new Gauge({
      name: "memn2n_models_loaded",
      help: "Models loaded, by kind (bAbI question answering or dialog)",
      labelNames: ["kind"],
      aggregator: "max",
      registers: [this.registry],
    });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    const labels = { method, route, status: String(status) };
    this.requests.inc(labels);
    this.latency.observe(labels, seconds);
  }
}
