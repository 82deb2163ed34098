/** Requests counted by verb and resource (`create:secrets`, `patch:mixpeeksecrets/status`). */
export class RequestCounters {
  private readonly counts = new Map<string, number>();

  record(verb: string, resource: string): void {
    const k = `${verb}:${resource}`;
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  get(verb: string, resource: string): number {
    return this.counts.get(`${verb}:${resource}`) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => a.localeCompare(b)));
  }

  reset(): void {
    this.counts.clear();
  }
}
