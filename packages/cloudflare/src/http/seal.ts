import type { RefusalSeal, Seal, SuccessSeal } from "@noema/core";
import type { Context } from "hono";
import { ApiError, errorResponse, httpIssue } from "./errors.js";

/**
 * A Seal as an HTTP response: a success is what `ok` makes of it; a refusal is the error
 * envelope carrying the Seal: 404 `not_found` for a missing target, 400 `invalid_input` for
 * arguments that proved invalid inside the Attractor, 409 `refused` for anything else.
 */
export function sealResponse(c: Context, seal: Seal, ok: (seal: SuccessSeal) => Response): Response {
  return seal.success ? ok(seal) : errorResponse(c, refusalError(seal));
}

/** The error a refusal Seal answers with. */
export function refusalError(seal: RefusalSeal): ApiError {
  const { reason } = seal;
  if (reason.kind === "not_found") return new ApiError(404, "not_found", reason.message, { seal });
  if (reason.kind === "validation") return new ApiError(400, "invalid_input", reason.message, { seal, ...(reason.issues ? { issues: reason.issues.map(httpIssue) } : {}) });
  return new ApiError(409, "refused", reason.message, { seal });
}
