import { formatPath, IntentValidationError, type Issue } from "../src/index.js";

/** The IntentValidationError a build must throw, its issues with dotted paths. */
export function buildError(build: () => unknown): { message: string; issues: ReturnType<typeof dotted>; error: IntentValidationError } {
  try {
    build();
  } catch (error) {
    if (error instanceof IntentValidationError) return { message: error.message, issues: dotted(error.issues), error };
    throw error;
  }
  throw new Error("expected an IntentValidationError");
}

/** Issues with their paths dotted, as the assertions below spell them (the code is asserted apart). */
export function dotted(issues: readonly Issue[]): { path: string; message: string }[] {
  return issues.map((i) => ({ path: formatPath(i.path), message: i.message }));
}
