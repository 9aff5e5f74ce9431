/**
 * The configuration files of the AVS service's three processes, one TypeBox schema each: the
 * TypeScript type, the validation `nektar avs <process> --config <file>` runs, and what the
 * Kubernetes controller renders (`avs-worker.json`, controller/resources/avs.ts) all derive from
 * them. Files named in a config are relative to the config file's folder (or absolute).
 *
 *     avs-worker.json      one operator's subscription to one AVS
 *     avs-aggregator.json  collects responses, submits certificates
 *     avs-gateway.json     the REST API AVS teams use
 */
import { readFile } from "node:fs/promises";
import { dirname, isAbsolute, resolve } from "node:path";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import { Value } from "@sinclair/typebox/value";

import { NektarError } from "../core/errors.js";

const Address = (description: string) =>
  Type.String({ pattern: "^0x[0-9a-fA-F]{40}$", minLength: 42, maxLength: 42, description: `${description} (20-byte address, 0x hex)` });

const HttpUrl = (description: string) => Type.String({ pattern: "^https?://[^\\s]+$", minLength: 8, maxLength: 2048, description });

const FilePath = (description: string) => Type.String({ minLength: 1, maxLength: 4096, description });

const Port = (description: string) => Type.Integer({ minimum: 0, maximum: 65535, description: `${description} (0: any free port)` });

const Listen = (defaultPort: number, what: string) =>
  Type.Object(
    {
      host: Type.String({ minLength: 1, maxLength: 253, default: "127.0.0.1", description: "Interface to listen on." }),
      port: Port(`Port of ${what}`),
    },
    { additionalProperties: false, default: { host: "127.0.0.1", port: defaultPort } },
  );

/** The chain and the nektar contracts every AVS process talks to. */
export const ChainConfigSchema = Type.Object(
  {
    rpcUrl: HttpUrl("JSON-RPC endpoint of an execution node (http or https)"),
    chainId: Type.Integer({ minimum: 1, description: "Chain id the contracts are on; checked against the node at start." }),
    taskManager: Address("TaskManager contract"),
    avsDirectory: Address("AVSDirectory contract"),
    operatorRegistry: Address("OperatorRegistry contract"),
    slasher: Type.Optional(Address("Slasher contract (the aggregator sends slashing evidence to it)")),
    pollingIntervalMs: Type.Integer({ minimum: 10, maximum: 60_000, default: 1_000, description: "How often to poll the node for new blocks and events." }),
    deploymentBlock: Type.Optional(Type.Integer({ minimum: 0, description: "Block the contracts were deployed at: searches of their past events start there (default 0)." })),
  },
  { additionalProperties: false },
);

/** A libp2p peer: its peer id and where to dial it. */
export const PeerSchema = Type.Object(
  {
    peerId: Type.String({ pattern: "^[1-9A-HJ-NP-Za-km-z]{20,128}$", description: "libp2p peer id (base58, e.g. 16Uiu2...)." }),
    multiaddrs: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 8, description: "Where to dial it, e.g. /ip4/10.0.0.5/tcp/3620." }),
  },
  { additionalProperties: false },
);

export const WorkerConfigSchema = Type.Object(
  {
    chain: ChainConfigSchema,
    avsId: Type.Integer({ minimum: 1, maximum: 0xffffffff, description: "The AVS's id in the AVSDirectory." }),
    /** The operator's BLS key: what its responses are signed with (the key registered on-chain). */
    blsKey: Type.Object(
      {
        keystoreFile: FilePath("EIP-2335 keystore of the operator's BLS secret key"),
        passwordFile: FilePath("The keystore's password (a trailing newline is ignored)"),
      },
      { additionalProperties: false },
    ),
    /** The operator's libp2p identity: its peer id must be the one registered on-chain. */
    identityFile: FilePath("secp256k1 identity key file (as written by `nektar identity create`)"),
    p2p: Type.Object(
      {
        listen: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), {
          minItems: 1,
          maxItems: 8,
          default: ["/ip4/127.0.0.1/tcp/0"],
          description: "libp2p listen addresses.",
        }),
      },
      { additionalProperties: false, default: { listen: ["/ip4/127.0.0.1/tcp/0"] } },
    ),
    aggregator: PeerSchema,
    executor: Type.Object(
      {
        url: HttpUrl("The AVS team's executor endpoint; the worker POSTs each task to it"),
        timeoutMs: Type.Integer({ minimum: 1, maximum: 600_000, default: 10_000, description: "Per attempt." }),
        retries: Type.Integer({ minimum: 0, maximum: 10, default: 2, description: "Attempts after the first, on errors and 5xx." }),
        backoffMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 200, description: "Wait before the first retry; doubles each time." }),
      },
      { additionalProperties: false },
    ),
    /**
     * The worker's durable record (every response it signed, the last block it processed):
     * what lets it catch up on tasks created while it was down without ever signing a second
     * result for a task. Absent: kept in memory, and the worker answers only tasks created after
     * it started.
     */
    dataDir: Type.Optional(FilePath("Folder for the worker's record, signed-tasks-<avsId>.json (created if missing; keep it across restarts, e.g. on a persistent volume)")),
    lookbackBlocks: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 1_000_000,
        description: "First start with an empty dataDir: how many blocks back to look for tasks still open (default: the AVS's response window; 0: only tasks created from now on).",
      }),
    ),
    /** /status ({registered, tasksAnswered}), /livez, /readyz and /metrics. */
    http: Listen(9465, "the status, health and metrics endpoint"),
  },
  { additionalProperties: false },
);

export const AggregatorConfigSchema = Type.Object(
  {
    chain: ChainConfigSchema,
    avsIds: Type.Array(Type.Integer({ minimum: 1, maximum: 0xffffffff }), {
      minItems: 1,
      maxItems: 64,
      uniqueItems: true,
      description: "AVSs whose tasks this aggregator certifies.",
    }),
    /** Sends respondToTask (and slashing evidence, if enabled): holds ETH for gas. */
    submitter: Type.Object(
      { keyFile: FilePath("File holding the 32-byte secp256k1 secret key of the submitting account, as hex") },
      { additionalProperties: false },
    ),
    identityFile: FilePath("secp256k1 libp2p identity key file; workers are configured with its peer id"),
    p2p: Type.Object(
      { listen: Type.Array(Type.String({ minLength: 1, maxLength: 512 }), { minItems: 1, maxItems: 8, description: "libp2p listen addresses workers dial." }) },
      { additionalProperties: false },
    ),
    /** Send conflicting responses of one operator to the Slasher as they are found. */
    submitEvidence: Type.Boolean({ default: false }),
    /** Responses held for tasks not yet certified survive a restart here; in memory if absent. */
    dataDir: Type.Optional(FilePath("Folder for the responses held for tasks not yet certified, held-responses.json (created if missing)")),
    /** GET /v1/tasks/{id}: what the gateway reads responses and certificates from; /livez, /readyz, /metrics. */
    http: Listen(3630, "the aggregator's task API"),
  },
  { additionalProperties: false },
);

export const GatewayConfigSchema = Type.Object(
  {
    chain: ChainConfigSchema,
    /** Creates tasks: must be each served AVS's task creator. */
    taskCreator: Type.Object(
      { keyFile: FilePath("File holding the 32-byte secp256k1 secret key of the AVS's task creator, as hex") },
      { additionalProperties: false },
    ),
    aggregatorUrl: HttpUrl("The aggregator's task API (its http listen address)"),
    /** SHA-256 (hex) of each API key allowed to write; keys themselves are never stored. */
    apiKeys: Type.Array(
      Type.Object(
        {
          name: Type.String({ minLength: 1, maxLength: 64, description: "Who holds the key (logged with each write)." }),
          sha256: Type.String({ pattern: "^[0-9a-f]{64}$", description: "SHA-256 of the key, lowercase hex." }),
          avsIds: Type.Array(Type.Integer({ minimum: 1, maximum: 0xffffffff }), { minItems: 1, maxItems: 64, description: "AVSs this key may create tasks for." }),
        },
        { additionalProperties: false },
      ),
      { maxItems: 1024 },
    ),
    rateLimit: Type.Object(
      {
        max: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 100, description: "Requests per window per client (API key, else IP)." }),
        windowMs: Type.Integer({ minimum: 100, maximum: 3_600_000, default: 60_000 }),
      },
      { additionalProperties: false, default: { max: 100, windowMs: 60_000 } },
    ),
    http: Listen(3620, "the REST API"),
  },
  { additionalProperties: false },
);

export type ChainConfig = Static<typeof ChainConfigSchema>;
export type WorkerConfig = Static<typeof WorkerConfigSchema>;
export type AggregatorConfig = Static<typeof AggregatorConfigSchema>;
export type GatewayConfig = Static<typeof GatewayConfigSchema>;

/**
 * `value` checked against `schema` with its defaults filled in; the error names the file and
 * the field. Does not touch the files a config names.
 */
export function parseConfig<T extends TSchema>(schema: T, value: unknown, what: string): Static<T> {
  const withDefaults = Value.Default(schema, Value.Clone(value));
  const error = Value.Errors(schema, withDefaults).First();
  if (error) throw new NektarError(`${what}: ${error.path || "/"}: ${error.message}`);
  return withDefaults as Static<T>;
}

/** Reads and checks a config file; relative paths inside it are resolved against its folder by `resolvePath`. */
export async function readConfigFile<T extends TSchema>(schema: T, path: string): Promise<Static<T>> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    throw new NektarError(`cannot read config file ${path}: ${(err as Error).message}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new NektarError(`config file ${path}: not JSON: ${(err as Error).message}`, { cause: err });
  }
  return parseConfig(schema, json, `config file ${path}`);
}

/** A path named in the config file at `configPath`, resolved against the file's folder. */
export function resolvePath(configPath: string, path: string): string {
  return isAbsolute(path) ? path : resolve(dirname(configPath), path);
}
