/**
 * The broadcaster: a complete duty (data and recovered signature) to the beacon node(s), in the
 * format of the fork at its slot. Every node that recovers submits: a beacon node takes the
 * same signed object more than once without harm, and one node down loses nothing.
 */
import { AllBeaconNodesFailedError, BeaconApiError } from "../core/eth/beacon/index.js";
import type { Logger } from "../core/log/index.js";
import { dutyKey } from "./duties.js";
import { type Duty, type KindContext, KINDS, type Recovered } from "./duty/index.js";

export class Broadcaster {
  constructor(
    private readonly ctx: KindContext,
    private readonly log: Logger,
  ) {}

  /** Submits, trying again (every half slot) while the node fails in a way another try could fix, until `deadlineMs`. */
  async submit(duty: Duty, recovered: Recovered, deadlineMs: number): Promise<void> {
    const { chain } = this.ctx;
    for (;;) {
      try {
        await KINDS.get(duty.id.type)!.submit(duty, recovered.unsigned, recovered.signature, this.ctx);
        this.log.debug({ duty: dutyKey(duty.id) }, "submitted");
        return;
      } catch (err) {
        const retryable = err instanceof AllBeaconNodesFailedError || (err instanceof BeaconApiError && err.retryable);
        const next = chain.now() + chain.slotMs / 2;
        if (!retryable || next >= deadlineMs) throw err;
        this.log.warn({ duty: dutyKey(duty.id), err: (err as Error).message }, "beacon node did not take the signed duty; trying again");
        await new Promise((resolve) => setTimeout(resolve, next - chain.now()));
      }
    }
  }
}

