/**
 * The cluster's p2p layer: operator identities, the cluster definition, and the libp2p host
 * with its typed protocols. See docs/p2p.md.
 */
export * from "./identity.js";
export * from "./enr.js";
export * from "./definition.js";
export * from "./errors.js";
export { type Protocol, type ProtocolSpec, type RateLimit, DEFAULT_MAX_BYTES, DEFAULT_RATE_LIMIT, HARD_MAX_BYTES, defineProtocol } from "./codec.js";
export * from "./host.js";
