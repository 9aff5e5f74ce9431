import { describe, expect, it } from "@jest/globals";
import { setConditions, type Observation } from "./conditions.js";

const ready = (status: "True" | "False"): Observation => ({ type: "Ready", status, reason: status === "True" ? "NodeReady" : "NodeNotReady", message: "" });

describe("setConditions", () => {
  it("keeps lastTransitionTime while the status holds, and moves it when the status changes", () => {
    const first = setConditions(undefined, [ready("False")], 1, new Date("2026-01-01T00:00:00.500Z"));
    expect(first).toEqual([{ ...ready("False"), observedGeneration: 1, lastTransitionTime: "2026-01-01T00:00:00Z" }]);
    const same = setConditions(first, [ready("False")], 2, new Date("2026-01-01T00:05:00Z"));
    expect(same[0]).toMatchObject({ lastTransitionTime: "2026-01-01T00:00:00Z", observedGeneration: 2 });
    const changed = setConditions(same, [ready("True")], 2, new Date("2026-01-01T00:06:00Z"));
    expect(changed[0]).toMatchObject({ status: "True", lastTransitionTime: "2026-01-01T00:06:00Z" });
  });
});
