/** Summary of timing samples (ms), rounded to 0.01: the percentiles every benchmark figure uses. */
export interface Stats {
  n: number;
  mean: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const r = (v: number) => Number(v.toFixed(2));
  const at = (q: number) => r(s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0);
  return { n: s.length, mean: r(s.length ? s.reduce((x, y) => x + y, 0) / s.length : 0), p50: at(0.5), p95: at(0.95), p99: at(0.99), max: r(s[s.length - 1] ?? 0) };
}
