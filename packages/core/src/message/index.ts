import type { Feature } from "../builtin/feature.js";
import { sendStep } from "./builtin.js";
import { MESSAGE_DDL } from "./store.js";

export * from "./builtin.js";
export * from "./store.js";

/** Messages: the outbox and its receipts, and the `$send` step (delivered and settled by seal/messages.ts). */
export const messagesFeature: Feature = { name: "messages", docs: "docs/concepts/messages.md", tables: MESSAGE_DDL, steps: [sendStep] };
