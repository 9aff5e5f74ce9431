/**
 * How the Beacon API client reaches beacon nodes: one HTTP request with a deadline, and errors
 * that name the node, the endpoint and what went wrong. `BeaconNodes` (nodes.ts) is the other
 * Transport: the same requests, failing over between several nodes.
 */
import { NektarError } from "../../errors.js";

export interface BeaconRequest {
  readonly method: "GET" | "POST";
  /** The path with its query, e.g. `/eth/v1/validator/attestation_data?slot=3&committee_index=0`. */
  readonly path: string;
  /** Serialized as JSON. */
  readonly body?: unknown;
  readonly headers?: Readonly<Record<string, string>>;
  /** Overrides the transport's default deadline, e.g. longer for block production. */
  readonly timeoutMs?: number;
}

export interface BeaconResponse {
  readonly status: number;
  /** The parsed JSON body; undefined when there is none (e.g. 200 on a submission). */
  readonly body: unknown;
  readonly headers: Headers;
}

export interface Transport {
  /** Resolves for a 2xx answer, rejects with a BeaconApiError otherwise. */
  request(request: BeaconRequest): Promise<BeaconResponse>;
}

/** Why a request failed: the node answered with an error status, did not answer in time, or could not be reached. */
export type BeaconFailure = "status" | "timeout" | "unreachable" | "invalid-response";

export class BeaconApiError extends NektarError {
  constructor(
    readonly baseUrl: string,
    readonly endpoint: string,
    readonly failure: BeaconFailure,
    /** The HTTP status, for failure "status". */
    readonly status: number | undefined,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(`beacon node ${baseUrl}: ${endpoint} ${describe(failure, status)}: ${detail}`, options);
  }

  /**
   * Whether another node might answer: it could not be reached, was too slow, or failed
   * internally (5xx, including 503 "syncing"). A 4xx says the request itself is wrong.
   */
  get retryable(): boolean {
    return this.failure !== "status" || (this.status !== undefined && this.status >= 500);
  }
}

function describe(failure: BeaconFailure, status: number | undefined): string {
  switch (failure) {
    case "status":
      return `answered ${status}`;
    case "timeout":
      return "timed out";
    case "unreachable":
      return "could not be reached";
    case "invalid-response":
      return "answered something that is not the Beacon API";
  }
}

export interface HttpTransportOptions {
  /** Deadline for a request without its own; a validator's duties give it little time. Default 4 s. */
  readonly timeoutMs?: number;
}

/** One beacon node over HTTP (Node's global fetch). */
export class HttpTransport implements Transport {
  readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(baseUrl: string, options: HttpTransportOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new NektarError(`beacon node URL ${JSON.stringify(baseUrl)} is not a URL (expected e.g. http://127.0.0.1:5052)`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new NektarError(`beacon node URL ${baseUrl}: expected http or https, got ${url.protocol}`);
    }
    this.baseUrl = baseUrl.replace(/\/+$/, "");
    this.timeoutMs = options.timeoutMs ?? 4000;
  }

  async request({ method, path, body, headers, timeoutMs }: BeaconRequest): Promise<BeaconResponse> {
    const endpoint = `${method} ${path.split("?")[0]}`;
    const deadline = timeoutMs ?? this.timeoutMs;
    const signal = AbortSignal.timeout(deadline);
    let response: Response;
    let text: string;
    try {
      response = await fetch(this.baseUrl + path, {
        method,
        headers: { accept: "application/json", ...(body !== undefined && { "content-type": "application/json" }), ...headers },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      text = await response.text();
    } catch (error) {
      if (signal.aborted) throw new BeaconApiError(this.baseUrl, endpoint, "timeout", undefined, `no answer within ${deadline} ms`);
      throw new BeaconApiError(this.baseUrl, endpoint, "unreachable", undefined, causeOf(error), { cause: error });
    }
    let parsed: unknown;
    if (text !== "") {
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        // An error page from a proxy is still a status worth reporting as such.
        if (response.ok) {
          throw new BeaconApiError(this.baseUrl, endpoint, "invalid-response", response.status, `body is not JSON: ${text.slice(0, 120)}`, {
            cause: error,
          });
        }
        parsed = text;
      }
    }
    if (!response.ok) {
      throw new BeaconApiError(this.baseUrl, endpoint, "status", response.status, errorMessage(parsed));
    }
    return { status: response.status, body: parsed, headers: response.headers };
  }
}

/** The Beacon API's error body is `{code, message, failures?}`; failures name the bad items of a batch. */
function errorMessage(body: unknown): string {
  if (typeof body === "object" && body !== null && "message" in body) {
    const { message, failures } = body as { message: unknown; failures?: unknown };
    return Array.isArray(failures) && failures.length > 0 ? `${String(message)} ${JSON.stringify(failures)}` : String(message);
  }
  return typeof body === "string" ? body.slice(0, 200) : "no message";
}

/** fetch wraps the socket error ("ECONNREFUSED") in a bare "fetch failed". */
function causeOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause;
  if (cause instanceof Error) return `${error.message}: ${(cause as NodeJS.ErrnoException).code ?? cause.message}`;
  return error.message;
}
