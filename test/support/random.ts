/**
 * A small seeded PRNG for tests that explore random schedules: the same seed gives the same
 * run, so a failure reproduces from the seed it prints. The generator is mulberry32 (32 bits
 * of state, a Weyl sequence through a multiply-xorshift mix): fast and plenty for choosing
 * test cases, and not meant for anything else.
 */

/** A seeded source of random choices. */
export interface Random {
  /** The seed this source started from. */
  readonly seed: number;
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** An integer in [min, max]. */
  between(min: number, max: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
  /** One element of a non-empty array. */
  pick<T>(items: readonly T[]): T;
  /** Shuffles `items` in place (Fisher-Yates) and returns it. */
  shuffle<T>(items: T[]): T[];
  /** A new source whose sequence depends only on this one's seed and `salt`. */
  fork(salt: number): Random;
}

/** A source seeded with `seed` (any integer; only its low 32 bits count). */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 2 ** 32;
  };
  const int = (n: number): number => Math.floor(next() * n);
  return {
    seed: seed >>> 0,
    next,
    int,
    between: (min, max) => min + int(max - min + 1),
    chance: (p) => next() < p,
    pick<T>(items: readonly T[]): T {
      if (items.length === 0) throw new Error('pick needs a non-empty array');
      return items[int(items.length)]!;
    },
    shuffle<T>(items: T[]): T[] {
      for (let i = items.length - 1; i > 0; i--) {
        const j = int(i + 1);
        [items[i], items[j]] = [items[j]!, items[i]!];
      }
      return items;
    },
    // Mixing the salt in with a different odd constant keeps forks apart from each other.
    fork: (salt) => createRandom(Math.imul((seed >>> 0) ^ Math.imul(salt + 1, 0x9e3779b1), 0x85ebca6b) ^ salt),
  };
}

/** The seed of a test run: `CAIRN_SEED` from the environment, or `fallback`. */
export function seedFromEnv(fallback: number): number {
  const raw = process.env.CAIRN_SEED;
  if (raw === undefined || raw === '') return fallback;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`CAIRN_SEED must be an integer, got ${raw}`);
  return seed >>> 0;
}
