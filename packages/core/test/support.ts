import { IntentValidationError } from "../src/index.js";

/** The IntentValidationError a build must throw. */
export function buildError(build: () => unknown): IntentValidationError {
  try {
    build();
  } catch (error) {
    if (error instanceof IntentValidationError) return error;
    throw error;
  }
  throw new Error("expected an IntentValidationError");
}
