/**
 * metav1.Condition bookkeeping: a condition keeps its lastTransitionTime while its status does
 * not change, so rewriting the same observation changes nothing (and writes nothing).
 */
import type { Condition } from "../api/v1alpha1.js";

export type ConditionType = "Ready" | "Progressing" | "Degraded";

export interface Observation {
  type: ConditionType;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
}

/** The conditions after `observations`, each stamped with `generation`. */
export function setConditions(current: readonly Condition[] | undefined, observations: readonly Observation[], generation: number, now = new Date()): Condition[] {
  return observations.map((o) => {
    const previous = current?.find((c) => c.type === o.type);
    const lastTransitionTime = previous && previous.status === o.status ? previous.lastTransitionTime : rfc3339(now);
    return { ...o, observedGeneration: generation, lastTransitionTime };
  });
}

/** RFC 3339 at second precision, as metav1.Time serializes. */
function rfc3339(date: Date): string {
  return `${date.toISOString().slice(0, 19)}Z`;
}
