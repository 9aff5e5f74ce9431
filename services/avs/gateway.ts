/**
 * The REST gateway AVS teams use: submit a task, read its status, responses and certificate,
 * list an AVS's operators and stake. Every input is checked against a TypeBox schema, which is
 * also the OpenAPI 3 document (/openapi.json, UI at /docs): one definition, two uses. Writes
 * need an API key (header `x-api-key`, stored as its SHA-256) allowed for the AVS; every route
 * is rate limited per key (or per address without one). Errors are JSON
 * `{statusCode, error, message}` whose message names the field, e.g.
 * "body/input must match pattern ...".
 */
import { createHash, timingSafeEqual } from "node:crypto";
import rateLimit from "@fastify/rate-limit";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import { type Static, type TSchema, Type } from "@sinclair/typebox";
import Fastify, { LogController } from "fastify";
import type { FastifyBaseLogger, FastifyError, FastifyInstance, FastifyRequest } from "fastify";

import { NektarError } from "../core/errors.js";
import { fromHex } from "../core/hex.js";
import type { Logger } from "../core/log/index.js";
import type { AvsChain } from "./chain.js";
import type { GatewayConfig } from "./config.js";
import { CertificateSchema, EvidenceRecordSchema, FailureRecordSchema, Hex, ResponseRecordSchema, TaskId, TaskStates, Wei } from "./records.js";
import type { TaskRecord } from "./records.js";

export const MAX_INPUT_BYTES = 16 * 1024;

const ErrorSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.Optional(Type.String()),
    error: Type.String(),
    message: Type.String({ description: "What was wrong, naming the field." }),
  },
  { description: "An error." },
);

const AvsId = Type.Integer({ minimum: 1, maximum: 0xffffffff, description: "The AVS's id in the AVSDirectory." });

const SubmitTaskBody = Type.Object(
  { input: Type.String({ pattern: "^0x([0-9a-fA-F]{2})*$", maxLength: 2 + 2 * MAX_INPUT_BYTES, description: `The task's input, 0x-hex, at most ${MAX_INPUT_BYTES} bytes.` }) },
  { additionalProperties: false },
);

const SubmittedTask = Type.Object(
  {
    taskId: TaskId,
    avsId: AvsId,
    referenceBlock: Type.Integer({ minimum: 0 }),
    responseDeadline: Type.Integer({ minimum: 0 }),
    txHash: Hex("The createTask transaction", 32),
    blockNumber: Type.Integer({ minimum: 0 }),
  },
  { additionalProperties: false },
);

const TaskStatus = Type.Object(
  {
    taskId: TaskId,
    avsId: Type.Integer({ minimum: 1 }),
    state: Type.Union([Type.Literal("created"), ...TaskStates.map((s) => Type.Literal(s))], {
      description: "created (on-chain, not yet seen by the aggregator), collecting, submitting, certified, failed (see reason).",
    }),
    reason: Type.Optional(Type.String()),
    inputHash: Hex("keccak256 of the input", 32),
    referenceBlock: Type.Integer({ minimum: 0 }),
    responseDeadline: Type.Integer({ minimum: 0 }),
    responses: Type.Integer({ minimum: 0, description: "Valid signed responses received." }),
    failures: Type.Integer({ minimum: 0, description: "Operators that reported no result." }),
  },
  { additionalProperties: false },
);

const TaskResponses = Type.Object(
  {
    taskId: TaskId,
    responses: Type.Array(ResponseRecordSchema),
    failures: Type.Array(FailureRecordSchema),
    evidence: Type.Array(EvidenceRecordSchema),
  },
  { additionalProperties: false },
);

const TaskCertificate = Type.Composite([
  Type.Object({ taskId: TaskId }),
  CertificateSchema,
  Type.Object({ verifiedOnChain: Type.Boolean({ description: "TaskManager.isResponse holds for the TaskResponded event's response." }) }),
]);

const Operators = Type.Object(
  {
    avsId: AvsId,
    block: Type.Integer({ minimum: 0, description: "Stake and membership as of the end of this block." }),
    totalStake: Wei("Stake of every operator"),
    operators: Type.Array(
      Type.Object(
        {
          address: Type.String({ pattern: "^0x[0-9a-fA-F]{40}$" }),
          operatorId: Hex("Operator id", 32),
          stake: Wei("Stake"),
          peerId: Type.String({ description: "libp2p peer id registered on-chain" }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const errors = (...codes: number[]): Record<number, TSchema> => Object.fromEntries(codes.map((c) => [c, ErrorSchema]));

export interface GatewayOptions {
  /** Its signer is the AVSs' task creator. */
  chain: AvsChain;
  aggregatorUrl: string;
  apiKeys: GatewayConfig["apiKeys"];
  rateLimit: GatewayConfig["rateLimit"];
  logger: Logger;
}

/** The gateway as a fastify app, not listening: tests inject requests, startGateway listens. */
export async function buildGateway(options: GatewayOptions): Promise<FastifyInstance> {
  const { chain } = options;
  const app = Fastify({
    loggerInstance: options.logger as FastifyBaseLogger,
    // Requests are logged by what they did (task created), not one line each way.
    logController: new LogController({ disableRequestLogging: true }),
    ajv: { customOptions: { removeAdditional: false, coerceTypes: true, allErrors: false } },
    schemaErrorFormatter: (errors, dataVar) => new Error(errors.map((e) => describeError(dataVar, e)).join("; ")),
  });
  const keys = options.apiKeys.map((k) => ({ ...k, digest: Buffer.from(k.sha256, "hex") }));
  const keyOf = (request: FastifyRequest) => {
    const header = request.headers["x-api-key"];
    if (typeof header !== "string" || header === "") return undefined;
    const digest = createHash("sha256").update(header).digest();
    return keys.find((k) => timingSafeEqual(k.digest, digest));
  };

  await app.register(swagger, {
    openapi: {
      openapi: "3.0.3",
      info: { title: "nektar AVS gateway", version: "1.0.0", description: "Submit AVS tasks and read their BLS certificates." },
      components: { securitySchemes: { apiKey: { type: "apiKey", name: "x-api-key", in: "header" } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: "/docs" });
  await app.register(rateLimit, {
    max: options.rateLimit.max,
    timeWindow: options.rateLimit.windowMs,
    keyGenerator: (request) => keyOf(request)?.sha256 ?? request.ip,
  });

  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());

  // Validation errors keep fastify's 400 (its message names the field: "body/input must ...");
  // a refusal by the contracts (e.g. too few operators) is the caller's to fix: 422.
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (err.validation !== undefined || (err.statusCode !== undefined && err.statusCode < 500)) return reply.send(err);
    if (err instanceof NektarError) return reply.code(422).send({ statusCode: 422, error: "Unprocessable Entity", message: err.message });
    request.log.error({ err: err.message }, "request failed");
    return reply.code(500).send({ statusCode: 500, error: "Internal Server Error", message: err.message });
  });

  app.post<{ Params: { avsId: number }; Body: Static<typeof SubmitTaskBody> }>(
    "/v1/avs/:avsId/tasks",
    {
      schema: {
        summary: "Create a task",
        description: "Creates the task on-chain (TaskManager.createTask, judged at the previous block); operators answer it and the aggregator certifies it.",
        security: [{ apiKey: [] }],
        params: Type.Object({ avsId: AvsId }),
        body: SubmitTaskBody,
        response: { 202: SubmittedTask, ...errors(400, 401, 403, 422, 429) },
      },
    },
    async (request, reply) => {
      const key = keyOf(request);
      if (key === undefined) return reply.code(401).send(error(401, "header x-api-key: missing or not a known API key"));
      const { avsId } = request.params;
      if (!key.avsIds.includes(avsId)) return reply.code(403).send(error(403, `params/avsId: API key "${key.name}" may not create tasks for AVS ${avsId}`));
      const created = await chain.createTask(avsId, fromHex(request.body.input, "body/input"));
      request.log.info({ avsId, taskId: Number(created.taskId), key: key.name }, "task created");
      return reply.code(202).send({
        taskId: Number(created.taskId),
        avsId,
        referenceBlock: Number(created.task.referenceBlock),
        responseDeadline: Number(created.task.responseDeadline),
        txHash: created.txHash,
        blockNumber: created.blockNumber,
      });
    },
  );

  /** The aggregator's record of a task, or null if it has none. */
  const recordOf = async (taskId: number): Promise<TaskRecord | null> => {
    const response = await fetch(`${options.aggregatorUrl}/v1/tasks/${taskId}`, { signal: AbortSignal.timeout(5_000) });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`aggregator answered HTTP ${response.status}`);
    return (await response.json()) as TaskRecord;
  };
  const TaskParams = Type.Object({ taskId: TaskId });

  app.get<{ Params: { taskId: number } }>(
    "/v1/tasks/:taskId",
    { schema: { summary: "A task's status", params: TaskParams, response: { 200: TaskStatus, ...errors(400, 404, 429) } } },
    async (request, reply) => {
      const { taskId } = request.params;
      const record = await recordOf(taskId);
      if (record !== null) {
        const { avsId, state, reason, inputHash, referenceBlock, responseDeadline } = record;
        return { taskId, avsId, state, reason, inputHash, referenceBlock, responseDeadline, responses: record.responses.length, failures: record.failures.length };
      }
      const created = await chain.findTask(taskId);
      if (created === null) return reply.code(404).send(error(404, `params/taskId: no task ${taskId}`));
      const { task } = created;
      return {
        taskId,
        avsId: Number(created.avsId),
        state: "created" as const,
        inputHash: task.inputHash,
        referenceBlock: Number(task.referenceBlock),
        responseDeadline: Number(task.responseDeadline),
        responses: 0,
        failures: 0,
      };
    },
  );

  app.get<{ Params: { taskId: number } }>(
    "/v1/tasks/:taskId/responses",
    { schema: { summary: "Operators' responses, failures and slashing evidence", params: TaskParams, response: { 200: TaskResponses, ...errors(400, 404, 429) } } },
    async (request, reply) => {
      const { taskId } = request.params;
      const record = await recordOf(taskId);
      if (record === null) return reply.code(404).send(error(404, `params/taskId: the aggregator has no responses for task ${taskId}`));
      return { taskId, responses: record.responses, failures: record.failures, evidence: record.evidence };
    },
  );

  app.get<{ Params: { taskId: number } }>(
    "/v1/tasks/:taskId/certificate",
    { schema: { summary: "The task's certificate, checked against the chain", params: TaskParams, response: { 200: TaskCertificate, ...errors(400, 404, 429) } } },
    async (request, reply) => {
      const { taskId } = request.params;
      const [record, responded] = await Promise.all([recordOf(taskId), chain.findResponse(taskId)]);
      if (record?.certificate === undefined || responded === null) {
        return reply.code(404).send(error(404, `params/taskId: task ${taskId} has no certificate${record === null ? "" : ` (state: ${record.state})`}`));
      }
      const verifiedOnChain =
        responded.response.resultHash.toLowerCase() === record.certificate.resultHash && (await chain.taskManager.isResponse(responded.response));
      return { taskId, ...record.certificate, verifiedOnChain };
    },
  );

  app.get<{ Params: { avsId: number } }>(
    "/v1/avs/:avsId/operators",
    { schema: { summary: "An AVS's operators and their stake", params: Type.Object({ avsId: AvsId }), response: { 200: Operators, ...errors(400, 404, 429) } } },
    async (request, reply) => {
      const { avsId } = request.params;
      const block = (await chain.blockNumber()) - 1;
      if (block < 0 || !(await chain.avsExists(avsId))) return reply.code(404).send(error(404, `params/avsId: no AVS ${avsId}`));
      const set = await chain.operatorsAt(avsId, block);
      return {
        avsId,
        block,
        totalStake: set.totalStake.toString(),
        operators: [...set.members.values()].map((m) => ({ address: m.address, operatorId: m.operatorId, stake: m.stake.toString(), peerId: m.peerId })),
      };
    },
  );

  return app;
}

/** An ajv error as "<where>/<field> <what is wrong>", naming unknown and missing fields too. */
function describeError(dataVar: string, e: { instancePath: string; message?: string; params: Record<string, unknown> }): string {
  const at = `${dataVar}${e.instancePath}`;
  if (typeof e.params.additionalProperty === "string") return `${at}/${e.params.additionalProperty}: unknown field`;
  if (typeof e.params.missingProperty === "string") return `${at}/${e.params.missingProperty}: required`;
  return `${at} ${e.message ?? "is invalid"}`;
}

function error(statusCode: number, message: string): Static<typeof ErrorSchema> {
  const names: Record<number, string> = { 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 422: "Unprocessable Entity" };
  return { statusCode, error: names[statusCode] ?? "Error", message };
}

/** Builds the gateway and listens on `listen`; returns the app and its base URL. */
export async function startGateway(options: GatewayOptions, listen: { host: string; port: number }): Promise<{ app: FastifyInstance; url: string; close(): Promise<void> }> {
  const app = await buildGateway(options);
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === "object" && address !== null ? address.port : listen.port;
  return { app, url: `http://${listen.host}:${port}`, close: () => app.close() };
}
