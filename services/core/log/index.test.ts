import { afterEach, describe, expect, it } from "@jest/globals";
import { NektarError } from "../errors.js";
import { createLogger } from "./index.js";

describe("createLogger", () => {
  const saved = process.env.NEKTAR_LOG_LEVEL;
  afterEach(() => {
    if (saved === undefined) delete process.env.NEKTAR_LOG_LEVEL;
    else process.env.NEKTAR_LOG_LEVEL = saved;
  });

  it("is silent under jest unless asked", () => {
    delete process.env.NEKTAR_LOG_LEVEL;
    expect(createLogger("test").level).toBe("silent");
  });

  it("takes the level from NEKTAR_LOG_LEVEL, and an explicit level over it", () => {
    process.env.NEKTAR_LOG_LEVEL = "debug";
    expect(createLogger("test").isLevelEnabled("debug")).toBe(true);
    expect(createLogger("test", { level: "warn" }).isLevelEnabled("info")).toBe(false);
  });

  it("names the variable when its level is not one", () => {
    process.env.NEKTAR_LOG_LEVEL = "loud";
    expect(() => createLogger("test")).toThrow(NektarError);
    expect(() => createLogger("test")).toThrow(/NEKTAR_LOG_LEVEL: "loud"/);
  });

  it("binds the component name to every line", () => {
    expect(createLogger("p2p", { bindings: { peer: "op-1" } }).bindings()).toEqual({ component: "p2p", peer: "op-1" });
  });
});
