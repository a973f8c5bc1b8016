/**
 * A small seeded generator (mulberry32): the same seed gives the same numbers, so a benchmark sees the
 * same graphs on every run and a chaos run's faults can be planned again from its seed.
 */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function between(random: () => number, low: number, high: number): number {
  return low + (high - low) * random();
}

export function integerBelow(random: () => number, n: number): number {
  return Math.floor(random() * n);
}
