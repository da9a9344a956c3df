import { DEFAULT_PAGE, MAX_PAGE } from "@noema/core/runtime";

/** A page size from an RPC caller: a whole number clamped to 1..MAX_PAGE, DEFAULT_PAGE when missing or not a number. */
export const pageSize = (limit: number | undefined) => (Number.isInteger(limit) ? Math.min(Math.max(limit!, 1), MAX_PAGE) : DEFAULT_PAGE);
