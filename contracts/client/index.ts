/** Typed clients for the nektar contracts: the one import services use. */
export * from "./bls.js";
export * from "./contracts.js";
export * from "./deploy.js";
export * from "./events.js";
export * from "./operators.js";
export * from "./rewards.js";
export * from "./tasks.js";
export type * from "../generated/index.js";
