// Per-service request counters, reported to the controller on request.
export interface ServiceCounters {
  requests: number;
  errors: number;
  active: number;
}

export class Stats {
  readonly started = Date.now();
  private readonly byService = new Map<string, ServiceCounters>();
  for(key: string): ServiceCounters {
    let c = this.byService.get(key);
    if (!c) {
      c = { requests: 0, errors: 0, active: 0 };
      this.byService.set(key, c);
    }
    return c;
  }
  entries() {
    return [...this.byService.entries()];
  }
}
