/** The Beacon API as a validator client uses it: one node or several with failover. */
export * from "./transport.js";
export * from "./nodes.js";
export * from "./client.js";
