/** Bad input: the CLI prints its message as one line on stderr and exits with EXIT_USAGE. */
export class CliError extends Error {
  override name = "CliError";
}

export const EXIT_USAGE = 2;

/**
 * The core's errors for a law it cannot use (a Nomos, vocabulary or lineage refused when defined,
 * SQL a Sieve cannot read): bad input to the CLI. Known by name, since the law may load its own
 * copy of the core.
 */
const LAW_ERRORS = new Set(["NomosDefinitionError", "VocabularyDefinitionError", "LineageDefinitionError", "SieveDerivationError"]);

/** The error as the one line the CLI prints for bad input, or undefined when it is not bad input. */
export function usageError(error: unknown): CliError | undefined {
  if (error instanceof CliError) return error;
  if (error instanceof Error && LAW_ERRORS.has(error.name)) return new CliError(error.message.split("\n")[0]!);
  return undefined;
}
