/** Small helpers the agent's controllers share: retry delays and one-line messages. */

/** Exponential backoff: minMs after the first failure, doubling, at most maxMs. */
export function backoff(failures: number, minMs: number, maxMs: number): number {
  return Math.min(maxMs, minMs * 2 ** Math.max(0, failures - 1));
}

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** The first `n` items and how many more: a status message stays short whatever the count. */
export function summarize(items: readonly string[], n: number): string {
  return `${items.slice(0, n).join('; ')}${items.length > n ? ` and ${items.length - n} more` : ''}`;
}
