/**
 * Which RUN --mount=type=cache directories this build's running steps hold: one holder at a
 * time for sharing=locked, and a private mount taken by one step gives the next a throwaway
 * directory. Per build (the Solver owns one), not per process.
 */
export class CacheMountHolds {
  private readonly locks = new Map<string, Promise<void>>();
  private readonly privateInUse = new Set<string>();
  private readonly emptied = new Set<string>();

  /** True the first time a step of this build asks for cache `key`: a --no-cache build empties it once, then shares it. */
  firstEmptying(key: string): boolean {
    if (this.emptied.has(key)) return false;
    this.emptied.add(key);
    return true;
  }

  /** Waits until no other step of this build holds cache `key` locked; the returned function lets it go. */
  async lock(key: string): Promise<() => void> {
    const previous = this.locks.get(key) ?? Promise.resolve();
    let unlock!: () => void;
    const held = new Promise<void>((r) => (unlock = r));
    const chained = previous.then(() => held);
    this.locks.set(key, chained);
    await previous;
    return () => {
      unlock();
      if (this.locks.get(key) === chained) this.locks.delete(key);
    };
  }

  /** Takes cache `key` for one private user: a release function, or undefined when another step has it. */
  takePrivate(key: string): (() => void) | undefined {
    if (this.privateInUse.has(key)) return undefined;
    this.privateInUse.add(key);
    return () => void this.privateInUse.delete(key);
  }
}
