/** The AVS service: REST gateway, workers, aggregator and their chain adapter. See docs/avs.md. */
export * from "./config.js";
export { AvsChain, connectChain, encodePeerId } from "./chain.js";
export type { Member, OperatorSet } from "./chain.js";
export { startWorker } from "./worker.js";
export type { Worker, WorkerOptions, WorkerStatus } from "./worker.js";
export { startAggregator } from "./aggregator.js";
export type { Aggregator, AggregatorOptions } from "./aggregator.js";
export { buildGateway, startGateway } from "./gateway.js";
export type { GatewayOptions } from "./gateway.js";
export { keystoreSigner, secretKeySigner } from "./signer.js";
export type { ResponseSigner } from "./signer.js";
export type { TaskRecord, Certificate } from "./records.js";
export * from "./wire.js";
