/**
 * The client of an AVS team's executor: the HTTP endpoint that computes a task's result.
 *
 *     POST <url>  {"taskId": 7, "avsId": 1, "referenceBlock": 41, "input": "0x..."}
 *     200         {"result": "0x..."}
 *
 * The result must be deterministic: every operator's executor must return the same bytes for
 * the same task, or the operators' signatures split and no quorum forms. Each attempt has a
 * timeout; network errors, timeouts and 5xx are retried with doubling backoff; a 4xx is the
 * executor refusing the task and is not retried.
 */
import { NektarError } from "../core/errors.js";
import { fromHex, toHex } from "../core/hex.js";
import { MAX_RESULT_BYTES } from "./protocol.js";

export interface ExecutorOptions {
  url: string;
  timeoutMs: number;
  retries: number;
  backoffMs: number;
}

export interface ExecutorRequest {
  taskId: number;
  avsId: number;
  referenceBlock: number;
  input: Uint8Array;
}

/** The executor gave no result: `reason` says why, in words an operator can act on. */
export class ExecutorError extends NektarError {}

export class ExecutorClient {
  constructor(private readonly options: ExecutorOptions) {}

  async execute(request: ExecutorRequest, signal?: AbortSignal): Promise<Uint8Array> {
    const body = JSON.stringify({ taskId: request.taskId, avsId: request.avsId, referenceBlock: request.referenceBlock, input: toHex(request.input) });
    const { url, timeoutMs, retries, backoffMs } = this.options;
    let lastError = "";
    let attempts = 0;
    while (attempts <= retries) {
      if (attempts > 0) await sleep(backoffMs * 2 ** (attempts - 1), signal);
      attempts++;
      const outcome = await this.attempt(body, signal);
      if (outcome.result !== undefined) return outcome.result;
      lastError = outcome.error;
      if (!outcome.retry) break;
    }
    throw new ExecutorError(`executor ${url}: ${lastError} (after ${attempts} attempt${attempts === 1 ? "" : "s"}, ${timeoutMs} ms each)`);
  }

  private async attempt(body: string, signal?: AbortSignal): Promise<{ result?: Uint8Array; error: string; retry: boolean }> {
    const { url, timeoutMs } = this.options;
    const timeout = AbortSignal.timeout(timeoutMs);
    let response: Response;
    let text: string;
    try {
      response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body,
        signal: signal === undefined ? timeout : AbortSignal.any([signal, timeout]),
      });
      text = await response.text();
    } catch (err) {
      if (signal?.aborted) throw err;
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const error = timeout.aborted ? `no answer within ${timeoutMs} ms` : `unreachable (${cause?.code ?? cause?.message ?? (err as Error).message})`;
      return { error, retry: true };
    }
    if (response.status >= 500) return { error: `HTTP ${response.status}: ${text.slice(0, 120)}`, retry: true };
    if (response.status !== 200) return { error: `refused the task: HTTP ${response.status}: ${text.slice(0, 120)}`, retry: false };
    let result: unknown;
    try {
      result = (JSON.parse(text) as { result?: unknown }).result;
    } catch {
      return { error: "answered with a body that is not JSON", retry: false };
    }
    if (typeof result !== "string") return { error: 'answered without a "result" string', retry: false };
    try {
      const bytes = fromHex(result, "executor result");
      if (bytes.length > MAX_RESULT_BYTES) return { error: `result of ${bytes.length} bytes exceeds ${MAX_RESULT_BYTES}`, retry: false };
      return { result: bytes, error: "", retry: false };
    } catch (err) {
      return { error: (err as Error).message, retry: false };
    }
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener("abort", () => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    }, { once: true });
  });
}
