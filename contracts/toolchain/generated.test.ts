/**
 * contracts/generated is committed: this fails when it was not regenerated after a change to
 * contracts/src, an imported npm Solidity file, the compiler version or the toolchain.
 */
import { describe, expect, it } from "@jest/globals";

import { manifest } from "../generated/index.js";
import { currentManifest } from "./compile.js";

describe("contracts/generated", () => {
  it("was built from the sources, compiler and toolchain on disk (else run npm run contracts:build)", () => {
    expect(currentManifest(manifest)).toEqual(manifest);
  });
});
