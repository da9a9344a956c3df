import { formatPath, IntentValidationError, type Issue, type Seal } from "@noema/core";
import type { Context, ErrorHandler, Hono, NotFoundHandler } from "hono";
import type { Env as HonoEnv } from "hono";
import { HTTPException } from "hono/http-exception";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { allowedMethods } from "./methods.js";

/** An issue as the HTTP API reports it: the path as a dotted string (`""` is the body itself). */
export interface HttpIssue {
  path: string;
  message: string;
}

/** The body of every error response. */
export interface ErrorBody {
  error: { code: string; message: string; issues?: HttpIssue[] };
  /** The refusal's Seal, when the request reached an Attractor. */
  seal?: Seal;
}

/** The one place a core Issue becomes an HTTP issue. */
export function httpIssue(issue: Issue): HttpIssue {
  return { path: typeof issue.path === "string" ? issue.path : formatPath(issue.path), message: issue.message };
}

/**
 * An error a handler or middleware throws to answer with the error envelope. `onError` renders
 * it; as an HTTPException it also renders under Hono's default error handler.
 */
export class ApiError extends HTTPException {
  override name = "ApiError";
  constructor(
    status: ContentfulStatusCode,
    readonly code: string,
    message: string,
    readonly extra: { issues?: HttpIssue[]; seal?: Seal } = {},
  ) {
    super(status, { message });
  }

  /** The envelope, made only where Hono's default error handler asks for it: `onError` makes its own. */
  override getResponse(): Response {
    return Response.json(envelope(this.code, this.message, this.extra), { status: this.status });
  }
}

function envelope(code: string, message: string, { issues, seal }: { issues?: HttpIssue[]; seal?: Seal }): ErrorBody {
  return { error: { code, message, ...(issues ? { issues } : {}) }, ...(seal ? { seal } : {}) };
}

/** 400 `invalid_input`; the message leads with the first issue, so a person sees where to look. */
export function invalidInput(issues: HttpIssue[]): ApiError {
  const first = issues[0];
  const message = first ? `${first.path || "body"}: ${first.message}` : "invalid input";
  return new ApiError(400, "invalid_input", message, { issues });
}

/** The error envelope `{error: {code, message, issues?}, seal?}` as a JSON response. */
export function errorResponse(c: Context, error: ApiError): Response {
  return c.json(envelope(error.code, error.message, error.extra), error.status as ContentfulStatusCode);
}

const HTTP_CODES: Partial<Record<number, string>> = { 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed", 413: "payload_too_large" };

/** Every error becomes the envelope here: ApiError as given, invalid Intents as 400, anything unexpected as a bare 500. */
export const onError: ErrorHandler = (err, c) => {
  if (err instanceof ApiError) return errorResponse(c, err);
  if (err instanceof IntentValidationError) return errorResponse(c, invalidInput(err.issues.map(httpIssue)));
  if (err instanceof HTTPException) {
    const status = err.status as ContentfulStatusCode;
    return errorResponse(c, new ApiError(status, HTTP_CODES[status] ?? "http_error", err.message || "request failed"));
  }
  console.error(err);
  return errorResponse(c, new ApiError(500, "internal", "internal error"));
};

/** 404 for a path no route serves; 405 with `Allow` for a path served under other methods. */
export function notFound<E extends HonoEnv>(app: Hono<E>): NotFoundHandler<E> {
  return (c) => {
    const path = new URL(c.req.url).pathname;
    const allow = allowedMethods(app, path);
    if (allow.length === 0) return errorResponse(c, new ApiError(404, "not_found", `no route for ${c.req.method} ${path}`));
    c.header("Allow", allow.join(", "));
    return errorResponse(c, new ApiError(405, "method_not_allowed", `${c.req.method} is not allowed on ${path}; use ${allow.join(" or ")}`));
  };
}

/** Gives `app` the error envelope for every error, 404 and 405. Call it on the top-level app, after its routes. */
export function handleErrors<E extends HonoEnv>(app: Hono<E>): Hono<E> {
  app.onError(onError);
  app.notFound(notFound(app));
  return app;
}
