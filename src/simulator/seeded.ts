import { createHash } from 'node:crypto';

/**
 * A small deterministic generator (mulberry32 seeded by a hash of the text), so the simulators make
 * up the same data for the same login or address on every start: numbers in [0, 1).
 */
export function seeded(seed: string): () => number {
  let h = createHash('sha256').update(seed).digest().readUInt32LE(0);
  return () => {
    h = (h + 0x6d2b79f5) | 0;
    let t = Math.imul(h ^ (h >>> 15), 1 | h);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
