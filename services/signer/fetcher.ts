/**
 * The fetcher: a duty's data from this node's beacon node (decided duties, when this node
 * leads) or computed from the duty (deterministic ones), with the failure reason named.
 */
import { BeaconApiError, AllBeaconNodesFailedError, BeaconResponseError } from "../core/eth/beacon/index.js";
import { type Duty, FetchError, type KindContext, KINDS } from "./duty/index.js";

export class Fetcher {
  constructor(private readonly ctx: KindContext) {}

  async fetch(duty: Duty): Promise<Uint8Array> {
    try {
      return await KINDS.get(duty.id.type)!.fetch(duty, this.ctx);
    } catch (err) {
      if (err instanceof FetchError) throw err;
      const bn = err instanceof BeaconApiError || err instanceof AllBeaconNodesFailedError || err instanceof BeaconResponseError;
      throw new FetchError(bn ? "fetcher_bn" : "fetcher_error", (err as Error).message);
    }
  }
}
