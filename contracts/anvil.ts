/**
 * A local Prague node: anvil from the @foundry-rs/anvil npm package (its binary ships in a
 * per-platform package), on 127.0.0.1 and a free port, stopped by pid. Used by the contract
 * tests, the gas benchmark and local development; nothing outside npm is needed.
 */
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { JsonRpcProvider } from "ethers";
import type { JsonRpcSigner } from "ethers";

import { NektarError } from "../services/core/errors.js";

export interface Anvil {
  readonly url: string;
  readonly provider: JsonRpcProvider;
  /** One of anvil's unlocked dev accounts (10 by default, 1,000,000 ETH each). */
  signer(index: number): Promise<JsonRpcSigner>;
  /** Mines `blocks` empty blocks at once. */
  mine(blocks?: number): Promise<void>;
  blockNumber(): Promise<number>;
  stop(): Promise<void>;
}

export interface AnvilOptions {
  accounts?: number;
  /** Block gas limit; anvil's default is 30M. */
  gasLimit?: bigint;
  /** Accept eth_sendTransaction from any address (fund it with anvil_setBalance first). */
  autoImpersonate?: boolean;
}

const PLATFORMS: Record<string, string> = { linux: "linux", darwin: "darwin", win32: "win32" };
const ARCHES: Record<string, string> = { x64: "amd64", arm64: "arm64" };

/** Path of the anvil binary installed by npm for this platform. */
export function anvilBinary(): string {
  const platform = PLATFORMS[process.platform];
  const arch = ARCHES[process.arch];
  const exe = process.platform === "win32" ? "anvil.exe" : "anvil";
  if (!platform || !arch) throw new NektarError(`anvil: no npm build for ${process.platform}/${process.arch}`);
  try {
    return createRequire(import.meta.url).resolve(`@foundry-rs/anvil-${platform}-${arch}/bin/${exe}`);
  } catch (err) {
    throw new NektarError(`anvil: @foundry-rs/anvil-${platform}-${arch} is not installed (run npm install)`, { cause: err });
  }
}

/** Starts anvil with the Prague hardfork (EIP-2537 precompiles) and waits for its RPC. */
export async function startAnvil(options: AnvilOptions = {}): Promise<Anvil> {
  const args = ["--host", "127.0.0.1", "--port", "0", "--hardfork", "prague", "--accounts", String(options.accounts ?? 10)];
  if (options.gasLimit !== undefined) args.push("--gas-limit", options.gasLimit.toString());
  if (options.autoImpersonate) args.push("--auto-impersonate");
  const child = spawn(anvilBinary(), args, { stdio: ["ignore", "pipe", "pipe"] });
  // Never outlive this process, even if the caller forgets stop() or crashes.
  // A child killed by a signal has exitCode null and signalCode set: both mean it is gone.
  const exited = (): boolean => child.exitCode !== null || child.signalCode !== null;
  const killOnExit = (): void => {
    if (!exited()) child.kill("SIGKILL");
  };
  process.once("exit", killOnExit);
  child.once("exit", () => process.off("exit", killOnExit));
  const url = await listeningUrl(child);
  // Polling every 50 ms: events and receipts from a local node need no 4 s wait.
  const provider = new JsonRpcProvider(url, undefined, { staticNetwork: true, pollingInterval: 50, cacheTimeout: -1 });
  return {
    url,
    provider,
    signer: (index) => provider.getSigner(index),
    mine: async (blocks = 1) => {
      await provider.send("anvil_mine", [`0x${blocks.toString(16)}`]);
    },
    blockNumber: () => provider.getBlockNumber(),
    stop: async () => {
      provider.destroy();
      if (exited() || child.pid === undefined) return;
      const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
      process.kill(child.pid, "SIGTERM");
      await gone;
    },
  };
}

/** Reads anvil's output until it prints the address it bound, then keeps draining it. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let output = "";
    let listening = false;
    const timer = setTimeout(() => fail(new NektarError(`anvil did not start within 20 s:\n${output}`)), 20_000);
    const fail = (err: Error): void => {
      clearTimeout(timer);
      if (child.exitCode === null) child.kill("SIGTERM");
      reject(err);
    };
    child.once("error", (err) => fail(new NektarError(`anvil failed to start: ${err.message}`, { cause: err })));
    const onEarlyExit = (code: number | null): void => fail(new NektarError(`anvil exited with code ${code} before listening:\n${output}`));
    child.once("exit", onEarlyExit);
    // Both pipes are drained for the node's whole life, or anvil would block on a full pipe.
    child.stderr?.on("data", (chunk: Buffer) => {
      if (!listening) output += chunk.toString();
    });
    child.stdout?.on("data", (chunk: Buffer) => {
      if (listening) return;
      output += chunk.toString();
      const match = /Listening on (\S+:\d+)/.exec(output);
      if (match) {
        listening = true;
        clearTimeout(timer);
        child.off("exit", onEarlyExit);
        resolve(`http://${match[1]}`);
      }
    });
  });
}
