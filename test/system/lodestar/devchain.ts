/**
 * A real beacon chain for system tests: Lodestar 1.5.1's `lodestar dev` (a beacon node and its
 * own validator client in one process), provisioned by test/system/provision/lodestar.sh.
 *
 *   const chain = await startLodestarDevChain({ genesisValidators: 8, startValidators: "0..5" });
 *   const client = new BeaconClient(chain.restUrl);
 *   ...
 *   await chain.stop();
 *
 * Minimal preset (8 slots per epoch), Altair from genesis (1.5.1's execution mock goes no
 * further), interop keys (./interop.ts): Lodestar runs the validators in `startValidators` and
 * leaves the others to the test. REST and p2p on free 127.0.0.1 ports, no discovery; the data
 * dir and log live in one temp dir, removed by stop().
 */
import { mkdirSync, mkdtempSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { NektarError } from "../../../services/core/errors.js";
import { freePort, Processes } from "../processes.js";

export interface DevChainOptions {
  /** Validators in the genesis state, interop keys 0..n-1. Default 8. */
  readonly genesisValidators?: number;
  /** The validators Lodestar's own validator client runs, as Lodestar writes it: "0..5". Default: all. */
  readonly startValidators?: string;
  /** Default 2: long enough for one 2-core machine to keep up, short enough for a test. */
  readonly secondsPerSlot?: number;
  /** How long to wait for the REST API. */
  readonly readyTimeoutMs?: number;
}

export interface LodestarDevChain {
  /** The Beacon API, http://127.0.0.1:<port>. */
  readonly restUrl: string;
  /** Seconds since the Unix epoch, as /eth/v1/beacon/genesis says. */
  readonly genesisTime: number;
  readonly secondsPerSlot: number;
  /** Where lodestar.log is, until stop(). */
  readonly dir: string;
  /** The last lines of Lodestar's log, for a failing test's message. */
  logTail(lines?: number): string;
  /** Kills Lodestar and removes its directory. Idempotent. */
  stop(): Promise<void>;
}

export async function startLodestarDevChain(options: DevChainOptions = {}): Promise<LodestarDevChain> {
  const lodestar = process.env.LODESTAR;
  if (lodestar === undefined || !existsSync(lodestar)) {
    throw new NektarError(
      `LODESTAR is ${lodestar === undefined ? "not set" : `${lodestar}, which does not exist`}: ` +
        "install it with `bash test/system/provision.sh lodestar` (or run `npm run test:system`)",
    );
  }
  const genesisValidators = options.genesisValidators ?? 8;
  const secondsPerSlot = options.secondsPerSlot ?? 2;
  const dir = mkdtempSync(join(tmpdir(), "nektar-lodestar-"));
  const processes = new Processes(dir);
  try {
    const [restPort, p2pPort] = [await freePort(), await freePort()];
    const restUrl = `http://127.0.0.1:${restPort}`;
    processes.start(
      "lodestar",
      lodestar,
      [
        "dev",
        `--dataDir=${join(dir, "data")}`,
        "--reset",
        `--genesisValidators=${genesisValidators}`,
        `--startValidators=${options.startValidators ?? `0..${genesisValidators - 1}`}`,
        `--params.SECONDS_PER_SLOT=${secondsPerSlot}`,
        "--params.ALTAIR_FORK_EPOCH=0",
        "--rest.address=127.0.0.1",
        `--rest.port=${restPort}`,
        "--rest.namespace=*",
        // Its validator client talks to its own REST API (it would try the default port 9596).
        `--server=${restUrl}`,
        "--listenAddress=127.0.0.1",
        `--port=${p2pPort}`,
        "--discv5=false",
      ],
      // cwd: `lodestar dev` dumps genesis.ssz into its working directory.
      { env: lodestarEnv(), cwd: dir },
    );
    const genesisTime = await waitForGenesis(restUrl, processes, options.readyTimeoutMs ?? 60_000);
    return {
      restUrl,
      genesisTime,
      secondsPerSlot,
      dir,
      logTail: (lines = 40) => processes.logTail("lodestar", lines),
      stop: () => processes.stopAll(),
    };
  } catch (error) {
    await processes.stopAll();
    throw error;
  }
}

export interface ValidatorClientOptions {
  /** The remote signer (Web3Signer API) the validator client signs through. */
  readonly externalSignerUrl: string;
  /** The validators it runs, all signed remotely, 0x hex. */
  readonly pubkeys: readonly string[];
  /** Where its data and log go; removed by stop(). */
  readonly dir: string;
}

export interface LodestarValidatorClient {
  logTail(lines?: number): string;
  /** Whether it has exited, and how, with its log. */
  exited(): string | undefined;
  stop(): Promise<void>;
}

/**
 * Lodestar 1.5.1's validator client against the dev chain, its keys on a remote signer
 * (`--externalSigner.url`): an existing validator client using a Web3Signer-compatible signer.
 */
export function startLodestarValidator(chain: LodestarDevChain, options: ValidatorClientOptions): LodestarValidatorClient {
  const lodestar = process.env.LODESTAR!;
  mkdirSync(options.dir, { recursive: true });
  const processes = new Processes(options.dir);
  processes.start(
    "validator",
    lodestar,
    [
      "validator",
      `--dataDir=${join(options.dir, "data")}`,
      // The dev chain's config: the minimal preset, Altair from genesis, its slot time.
      "--preset=minimal",
      "--params.ALTAIR_FORK_EPOCH=0",
      `--params.SECONDS_PER_SLOT=${chain.secondsPerSlot}`,
      `--server=${chain.restUrl}`,
      `--externalSigner.url=${options.externalSignerUrl}`,
      `--externalSigner.pubkeys=${options.pubkeys.join(",")}`,
    ],
    { env: lodestarEnv(), cwd: options.dir },
  );
  return {
    logTail: (lines = 40) => processes.logTail("validator", lines),
    exited: () => processes.exited(),
    stop: () => processes.stopAll(),
  };
}

/**
 * This process's environment without what would change Lodestar's behaviour: its CLI reads
 * LODESTAR* variables as arguments (LODESTAR, our path to it, fails as an unknown argument),
 * and jest's NODE_OPTIONS (--experimental-vm-modules) are not for it.
 */
function lodestarEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("LODESTAR") && name !== "NODE_OPTIONS"));
}

/** Polls /eth/v1/beacon/genesis (the REST server answers it from its start, about 5 s in). */
async function waitForGenesis(restUrl: string, processes: Processes, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = "no answer yet";
  for (;;) {
    const dead = processes.exited();
    if (dead !== undefined) throw new NektarError(`the Lodestar dev chain did not start: ${dead}`);
    try {
      const response = await fetch(`${restUrl}/eth/v1/beacon/genesis`, { signal: AbortSignal.timeout(2000) });
      const body = (await response.json()) as { data?: { genesis_time?: string } };
      if (response.ok && body.data?.genesis_time !== undefined) return Number(body.data.genesis_time);
      last = `${response.status} ${JSON.stringify(body)}`;
    } catch (error) {
      last = String(error);
    }
    if (Date.now() > deadline) {
      throw new NektarError(
        `Lodestar's REST API at ${restUrl} did not answer within ${timeoutMs} ms (last: ${last}):\n${processes.logTail("lodestar")}`,
      );
    }
    await sleep(250);
  }
}
