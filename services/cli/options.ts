import { InvalidArgumentError } from "commander";

/** Commander parser for a whole-number option; the error names the value. */
export function parseInteger(value: string): number {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError(`"${value}" is not a whole number`);
  return Number(value);
}
