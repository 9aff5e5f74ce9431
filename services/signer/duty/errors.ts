import { NektarError } from "../../core/errors.js";

/** Why a duty's data could not be fetched: a failure reason of the duty (see metrics.ts). */
export class FetchError extends NektarError {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}
