/**
 * ovs-ofctl dump output reduced to what the codec models, so it can be
 * compared line by line with the library's formatter.
 */
export function ofctlGroupLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(' group_id='))
    .map((l) => l.trim())
    .sort();
}

export function ofctlFlowLines(stdout: string): string[] {
  return stdout
    .split('\n')
    .filter((l) => l.startsWith(' cookie='))
    .map((l) =>
      l
        .trim()
        .replace(/duration=[\d.]+s, /, '')
        .replace(/n_packets=\d+, /, '')
        .replace(/n_bytes=\d+, /, '')
        .replace(/idle_age=\d+, /, '')
        .replace(/hard_age=\d+, /, ''),
    )
    .sort();
}
