/**
 * "Did you mean": the declared name closest to one that is not declared, for a typo such as
 * `act_runner-data` for `act-runner-data`. Pure.
 */

/** The same name up to case and the separators Docker allows ('-', '_', '.'). */
function folded(name: string): string {
  return name.toLowerCase().replace(/[-_.]/g, '-');
}

/** Levenshtein distance, small strings only (Docker names are at most 63 characters). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}

/**
 * The candidate `name` most likely meant: one that differs only in case or separators, else
 * one within two edits (and less than a third of the name). Undefined when none is close.
 */
export function nearMiss(name: string, candidates: string[]): string | undefined {
  const same = candidates.find((c) => folded(c) === folded(name));
  if (same !== undefined) {
    return same;
  }
  const limit = Math.min(2, Math.floor(name.length / 3));
  let best: { candidate: string; d: number } | undefined;
  for (const candidate of candidates) {
    const d = distance(folded(name), folded(candidate));
    if (d <= limit && (best === undefined || d < best.d)) {
      best = { candidate, d };
    }
  }
  return best?.candidate;
}
