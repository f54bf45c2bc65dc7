import { LRUCache } from 'lru-cache';

export interface CachedEntry {
  /** The serialized ExecutionResult. */
  json: string;
  /** Epoch ms when the entry expires. */
  expiresAt: number;
  /** Entity tags (`Type`, `Type:id`, `Query.field`) that invalidate it. */
  tags: string[];
}

/**
 * The in-process tier: an LRU bounded in bytes, with a tag index so entity invalidations find
 * their entries without a scan.
 */
export class LruTier {
  private readonly entries: LRUCache<string, CachedEntry>;
  private readonly keysByTag = new Map<string, Set<string>>();
  private readonly tagsByKey = new Map<string, string[]>();

  constructor(maxBytes: number) {
    this.entries = new LRUCache<string, CachedEntry>({
      maxSize: maxBytes,
      sizeCalculation: (entry, key) => entry.json.length * 2 + key.length * 2 + 64,
      ttlAutopurge: false,
      dispose: (_entry, key) => this.unindex(key),
    });
  }

  get(key: string, now = Date.now()): CachedEntry | undefined {
    const entry = this.entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  set(key: string, entry: CachedEntry, now = Date.now()): void {
    const ttl = entry.expiresAt - now;
    if (ttl <= 0) return;
    this.entries.set(key, entry, { ttl });
    this.tagsByKey.set(key, entry.tags);
    for (const tag of entry.tags) {
      let keys = this.keysByTag.get(tag);
      if (!keys) this.keysByTag.set(tag, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Drops every entry carrying one of the tags. */
  invalidate(tags: Iterable<string>): void {
    for (const tag of tags) {
      for (const key of [...(this.keysByTag.get(tag) ?? [])]) this.entries.delete(key);
    }
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }

  private unindex(key: string): void {
    for (const tag of this.tagsByKey.get(key) ?? []) {
      const keys = this.keysByTag.get(tag);
      keys?.delete(key);
      if (keys?.size === 0) this.keysByTag.delete(tag);
    }
    this.tagsByKey.delete(key);
  }
}
