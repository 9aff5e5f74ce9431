import { describe, expect, it } from "@jest/globals";
import { readdirSync, readFileSync } from "node:fs";
import { Value } from "@sinclair/typebox/value";
import { renderCrds } from "./crds.js";
import { KeyShareSpec, OperatorSpec } from "./v1alpha1.js";
import { examples } from "./examples.js";

const CRDS_DIR = new URL("../../crds/", import.meta.url);

describe("crds/", () => {
  it("is current: regenerate with `nektar controller crds --out crds`", () => {
    const rendered = renderCrds();
    expect(readdirSync(CRDS_DIR).sort()).toEqual(rendered.map((crd) => crd.file).sort());
    for (const { file, yaml } of rendered) expect(readFileSync(new URL(file, CRDS_DIR), "utf8")).toBe(yaml);
  });
});

describe("v1alpha1 schemas", () => {
  it("accept the examples", () => {
    expect(Value.Errors(OperatorSpec, examples.operator("op-1").spec).First()).toBeUndefined();
    expect(Value.Errors(KeyShareSpec, examples.keyShare("ks-1", "op-1", 1).spec).First()).toBeUndefined();
  });

  it("refuse a validator key that is not 48 bytes of lowercase hex", () => {
    const spec = { ...examples.keyShare("ks-1", "op-1", 1).spec, validatorPubkey: "0xABCD" };
    expect(Value.Errors(KeyShareSpec, spec).First()?.path).toBe("/validatorPubkey");
  });
});
