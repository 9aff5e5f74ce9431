import { describe, expect, it } from "@jest/globals";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../../../test/helpers/cli.js";

const publish = (dir: string, ...extra: string[]) =>
  runCli(["controller", "publish-dkg-output", "--from", join(dir, "out"), "--password-file", join(dir, "password.txt"), "--secret", "dv-1-dkg-output-1", "--namespace", "staking", ...extra]);

// The publication itself, to a real API server from a real DKG's output, is in
// test/system/controller/dv.system.test.ts; here, what is refused before any request.
describe("nektar controller publish-dkg-output", () => {
  it("names an --owner that is not name/uid", async () => {
    const result = await publish(mkdtempSync(join(tmpdir(), "nektar-publish-")), "--owner", "dv-1");
    expect(result.code).toBe(1);
    expect(result.stderr).toContain("--owner dv-1: expected <name>/<uid>");
  });

  it("names the output folder it cannot use", async () => {
    const dir = mkdtempSync(join(tmpdir(), "nektar-publish-"));
    mkdirSync(join(dir, "out"));
    writeFileSync(join(dir, "out", "cluster-lock.json"), '{"version":"nektar/cluster-lock/v1"}');
    const result = await publish(dir, "--owner", "dv-1/0b6c1a52-3f1e-4e1d-9c1a-5d2f6a7b8c9d");
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(new RegExp(`cluster lock ${join(dir, "out", "cluster-lock.json")}: definition: Expected required property`));
  });
});
