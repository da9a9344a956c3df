export { bearerAuth, type BearerAuthOptions, isReadRequest, tokenAuth, type TokenAuthOptions, tokenScope, type TokenScope, tokensEqual } from "./auth.js";
export { ApiError, type ErrorBody, errorResponse, handleErrors, type HttpIssue, httpIssue, invalidInput, notFound, onError } from "./errors.js";
export { parseInput, queryInt, readJson } from "./input.js";
export { attractorRoutes, type AttractorRoutesOptions, limitBody, MAX_BODY_BYTES } from "./routes.js";
export { refusalError, sealResponse } from "./seal.js";
export { syncRoutes, type SyncRoutesOptions } from "./sync.js";
