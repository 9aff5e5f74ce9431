/** Ethereum formats shared by every service: SSZ types, networks, domains, deposit data. */
export * from "./types.js";
export * from "./networks.js";
export * from "./domains.js";
export * from "./deposit.js";
