/** What every reconciler shares. */
import { isDeepStrictEqual } from "node:util";

/** "done", or run again after a delay to observe something that changes without an event. */
export type ReconcileResult = "done" | { requeueAfterMs: number };

export interface Reconciler {
  reconcile(key: string): Promise<ReconcileResult>;
}

/**
 * Whether writing `next` would change `current`: an unchanged status is not written, so a
 * controller restart or a resync writes nothing. Absent and undefined fields are equal.
 */
export function statusChanged(current: unknown, next: unknown): boolean {
  return !isDeepStrictEqual(JSON.parse(JSON.stringify(current ?? {})), JSON.parse(JSON.stringify(next)));
}
