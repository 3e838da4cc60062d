// Order statistics. Percentiles are nearest-rank: p99 of 200 samples is the 198th smallest.

const sorted = (values) => Float64Array.from(values).sort()

export const percentile = (values, p) => {
  if (values.length === 0) return NaN
  const s = sorted(values)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]
}

export const median = (values) => {
  if (values.length === 0) return NaN
  const s = sorted(values)
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** Per-round ratios A/B of interleaved runs, then their median: robust to the machine slowing down mid-run. */
export const medianRatio = (as, bs) => median(as.map((a, i) => a / bs[i]))

/** Rotates `items` by `round` so no target always runs first (or right after the same neighbour). */
export const rotate = (items, round) => items.map((_, i) => items[(i + round) % items.length])
