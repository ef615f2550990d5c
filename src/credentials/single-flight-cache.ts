/**
 * A keyed cache where concurrent misses share one fetch: with 20 containers on one role,
 * one GetRoleCredentials per refresh, not 20.
 */
export class SingleFlightCache<V> {
  private readonly values = new Map<string, V>();
  private readonly inFlight = new Map<string, Promise<V>>();

  constructor(private readonly isFresh: (value: V) => boolean) {}

  async get(key: string, fetch: () => Promise<V>): Promise<V> {
    const cached = this.values.get(key);
    if (cached !== undefined && this.isFresh(cached)) return cached;
    const pending = this.inFlight.get(key);
    if (pending) return pending;
    const promise = fetch().then(
      (value) => {
        this.values.set(key, value);
        this.inFlight.delete(key);
        return value;
      },
      (err: unknown) => {
        this.inFlight.delete(key);
        throw err;
      },
    );
    this.inFlight.set(key, promise);
    return promise;
  }

  peek(key: string): V | undefined {
    return this.values.get(key);
  }

  set(key: string, value: V): void {
    this.values.set(key, value);
  }

  delete(key: string): void {
    this.values.delete(key);
  }

  clear(): void {
    this.values.clear();
  }
}
