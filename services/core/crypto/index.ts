export * from "./fr.js";
export * from "./bls.js";
export * from "./shamir.js";
export * from "./threshold.js";
export * from "./feldman.js";
export * from "./eip2333.js";
export * from "./keystore.js";
