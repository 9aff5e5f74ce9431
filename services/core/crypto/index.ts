export * from "./eip2333.js";
export * from "./keystore.js";
