/** Bad input: the CLI prints its message as one line on stderr and exits with EXIT_USAGE. */
export class CliError extends Error {
  override name = "CliError";
}

export const EXIT_USAGE = 2;
