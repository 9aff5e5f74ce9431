/**
 * An example AVS executor, the template an AVS team copies: the HTTP endpoint each operator's
 * worker calls with a task, answering with the task's result.
 *
 * The task: the SHA-256 hash chain of the input, `rounds` times (a stand-in for real work that
 * is deterministic: every honest operator computes the same bytes, so their signatures agree).
 *
 *     POST /execute  {"taskId": 7, "avsId": 1, "referenceBlock": 41, "input": "0x68656c6c6f"}
 *     200            {"result": "0x<32 bytes>"}
 *
 * Run it: `node dist/examples/sha256-avs/executor.js --port 8080 [--rounds 1000]`.
 */
import { createHash } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import { parseArgs } from "node:util";
import { pathToFileURL } from "node:url";

export interface ExecutorServerOptions {
  host?: string;
  /** 0: any free port. */
  port?: number;
  rounds?: number;
  /** Answer with this instead of the true result: a faulty operator, for tests. */
  corrupt?: boolean;
}

export interface ExecutorServer {
  /** The endpoint workers are configured with: http://host:port/execute. */
  readonly url: string;
  /** Tasks answered so far. */
  readonly calls: number;
  stop(): Promise<void>;
}

export const DEFAULT_ROUNDS = 1000;
const MAX_BODY_BYTES = 256 * 1024;

/** The result of a task: SHA-256 applied `rounds` times to the input. */
export function hashChain(input: Uint8Array, rounds: number): Uint8Array {
  let value: Uint8Array = input;
  for (let i = 0; i < rounds; i++) value = createHash("sha256").update(value).digest();
  return value;
}

export async function startExecutor(options: ExecutorServerOptions = {}): Promise<ExecutorServer> {
  const rounds = options.rounds ?? DEFAULT_ROUNDS;
  let calls = 0;
  const server: Server = createServer((request, response) => {
    void handle(request, response).catch(() => reply(response, 500, { error: "internal error" }));
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    if (request.method !== "POST" || request.url !== "/execute") return reply(response, 404, { error: "POST /execute" });
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of request) {
      size += (chunk as Buffer).length;
      if (size > MAX_BODY_BYTES) return reply(response, 413, { error: `body over ${MAX_BODY_BYTES} bytes` });
      chunks.push(chunk as Buffer);
    }
    let input: unknown;
    try {
      input = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { input?: unknown }).input;
    } catch {
      return reply(response, 400, { error: "body: not JSON" });
    }
    // A 4xx tells the worker the task itself is bad: it does not retry.
    if (typeof input !== "string" || !/^0x([0-9a-fA-F]{2})*$/.test(input)) return reply(response, 400, { error: "input: expected 0x-hex bytes" });
    const result = hashChain(Buffer.from(input.slice(2), "hex"), rounds);
    if (options.corrupt) result[0] = result[0]! ^ 0xff;
    calls++;
    reply(response, 200, { result: `0x${Buffer.from(result).toString("hex")}` });
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : options.port;
  return {
    url: `http://${options.host ?? "127.0.0.1"}:${port}/execute`,
    get calls() {
      return calls;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
}

// Run as a program: `node executor.js --port 8080 --rounds 1000`.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { values } = parseArgs({ options: { host: { type: "string", default: "127.0.0.1" }, port: { type: "string", default: "8080" }, rounds: { type: "string" } } });
  const server = await startExecutor({
    host: values.host,
    port: Number(values.port),
    rounds: values.rounds === undefined ? DEFAULT_ROUNDS : Number(values.rounds),
  });
  process.stdout.write(`sha256 AVS executor on ${server.url}\n`);
  const stop = () => void server.stop().then(() => process.exit(0));
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
}
