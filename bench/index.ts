import { avsBench } from "./avs.js";
import { contractsGasBench } from "./contracts-gas.js";
import { controllerBench } from "./controller.js";
import { cryptoBench } from "./crypto.js";
import { dkgBench } from "./dkg.js";
import { p2pBench } from "./p2p.js";
import { signerBench } from "./signer.js";
import { signerPipelineBench } from "./signer-pipeline.js";
import { slashingProtectionBench } from "./slashing-protection.js";

/** A benchmark prints its figures and the ratio to its reference, measured in the same run. */
export interface Benchmark {
  name: string;
  description: string;
  run(): Promise<void>;
}

/** Every benchmark, in the order `npm run bench` runs them. */
export const benchmarks: Benchmark[] = [cryptoBench, dkgBench, slashingProtectionBench, p2pBench, signerBench, signerPipelineBench, contractsGasBench, controllerBench, avsBench];
