import { describe, expect, it } from "@jest/globals";
import { NektarError } from "../../core/errors.js";
import { Steps } from "./steps.js";

function recorder(): { print: (text: string) => void; text: () => string } {
  const out: string[] = [];
  return { print: (text) => void out.push(text), text: () => out.join("") };
}

describe("Steps", () => {
  it("in a pipe: one line per step, its time and summary, no progress notes", async () => {
    const out = recorder();
    const steps = new Steps(2, out.print, undefined);
    expect(
      await steps.run("starting", async (progress) => {
        progress("half way");
        return { result: 7, summary: "http://127.0.0.1:1" };
      }),
    ).toBe(7);
    await steps.run("waiting", async () => ({ result: undefined, summary: "" }));
    expect(out.text()).toMatch(/^\[1\/2\] starting \.\.\. \d+\.\d s: http:\/\/127\.0\.0\.1:1\n\[2\/2\] waiting \.\.\. \d+\.\d s\n$/);
  });

  it("on a terminal: notes rewrite the line, cut to its width, and the end replaces the last", async () => {
    const out = recorder();
    const steps = new Steps(1, out.print, 30);
    await steps.run("DKG", async (progress) => {
      progress("connect: 3/15 operators ready");
      return { result: undefined, summary: "lock 0xab" };
    });
    const text = out.text();
    expect(text).toContain("\r[1/1] DKG ... connect: 3/15 o\x1b[K"); // 30 columns
    expect(text.endsWith(" s: lock 0xab\x1b[K\n")).toBe(true);
    expect(text.slice(text.lastIndexOf("\r"))).toMatch(/^\r\[1\/1\] DKG \.\.\. \d+\.\d s: lock 0xab/);
  });

  it("a failing step says so on its line and names itself in the error", async () => {
    const out = recorder();
    const steps = new Steps(1, out.print, undefined);
    const failing = steps.run("deploying the contracts", async () => {
      throw new NektarError("no receipt");
    });
    await expect(failing).rejects.toThrow("devnet: deploying the contracts: no receipt");
    expect(out.text()).toMatch(/^\[1\/1\] deploying the contracts \.\.\. failed after \d+\.\d s\n$/);
  });
});
