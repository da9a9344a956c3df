import { buildIntent, type Intent } from "@noema/core";
import { inventory } from "../vocabulary.js";
import type { LineView, MessageKind } from "./protocol.js";

/**
 * The Intents the coordinator sends a product about one line, built with the product's law.
 * Each keeps the product's own safety net right: a hold freezes its own release at its expiry
 * (keyed by the reservation id), and whatever closes the hold cancels that release.
 */
export function lineMessage(kind: MessageKind, orderId: string, line: LineView, holdTtlSeconds: number): Intent {
  const reservationId = line.reservationId;
  switch (kind) {
    case "reserve":
      return buildIntent(inventory, (s) => {
        const r = s.reserve({ reservationId, orderId, locationId: line.locationId, quantity: line.quantity, ttlSeconds: holdTtlSeconds });
        s.$freeze({ at: r.expiresAt, key: reservationId }, (frozen) => frozen.release({ reservationId }));
      });
    case "cancelHold":
      // Releases the hold, or leaves a tombstone when the reserve has not arrived (yet): a late reserve then holds nothing.
      return buildIntent(inventory, (s) => {
        s.cancelHold({ reservationId, locationId: line.locationId, quantity: line.quantity });
        s.$cancel({ key: reservationId });
      });
    case "commit":
      return buildIntent(inventory, (s) => {
        s.commit({ reservationId });
        s.$cancel({ key: reservationId });
      });
  }
}
