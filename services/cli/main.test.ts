import { describe, expect, it } from "@jest/globals";
import { buildProgram, main } from "./main.js";

describe("nektar CLI", () => {
  it("lists its subcommands in --help", () => {
    expect(buildProgram().helpInformation()).toContain("Usage: nektar");
  });

  it("exits non-zero on an unknown command", async () => {
    const stderr = process.stderr.write;
    process.stderr.write = () => true;
    try {
      expect(await main(["no-such-command"])).not.toBe(0);
    } finally {
      process.stderr.write = stderr;
    }
  });
});
