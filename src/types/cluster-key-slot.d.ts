// The package (ioredis' own slot function) ships no types.
declare module 'cluster-key-slot' {
  /** The Redis Cluster hash slot (0–16383) of a key: CRC16 of its `{hash tag}` when it has one, else of the whole key. */
  function calculateSlot(key: string | Buffer): number;
  export = calculateSlot;
}
