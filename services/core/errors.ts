/**
 * An error a user can act on: the message says which input was wrong and what to do.
 * The CLI prints it without a stack trace; anything else is a bug and keeps its trace.
 */
export class NektarError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
