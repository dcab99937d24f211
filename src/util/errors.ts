/**
 * A configuration the process cannot start with (an unreadable kubeconfig,
 * a listen address already taken): the CLI prints its message as one line
 * and exits 1, without a stack — the message is the whole story. Anything
 * else that ends a command is unexpected and is printed with its stack.
 */
export class ConfigError extends Error {
  override name = 'ConfigError';
}
