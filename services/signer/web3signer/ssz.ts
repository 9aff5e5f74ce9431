/**
 * Beacon API JSON into SSZ values, with the path of the field at fault when it does not parse.
 * @chainsafe/ssz's `fromJson` says what is wrong ("JSON invalid number isNaN") but not where; a
 * validator client's operator needs `attestation.source.root`.
 */
import { ContainerType, ListBasicType, ListCompositeType, type Type, VectorCompositeType } from "@chainsafe/ssz";
import { NektarError } from "../../core/errors.js";

/** A request a Web3Signer client sent that cannot be signed as it is (HTTP 400). */
export class BadSignRequestError extends NektarError {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`${field}: ${problem}`);
  }
}

export function fromJsonAt<T>(type: Type<T>, json: unknown, path: string): T {
  if (json === undefined || json === null) throw new BadSignRequestError(path, "missing");
  try {
    return type.fromJson(json);
  } catch (err) {
    throw new BadSignRequestError(...locate(type as Type<unknown>, json, path, (err as Error).message));
  }
}

/** The innermost field of `json` that `type` refuses, and why. */
function locate(type: Type<unknown>, json: unknown, path: string, message: string): [string, string] {
  if (type instanceof ContainerType && typeof json === "object" && json !== null && !Array.isArray(json)) {
    for (const { jsonKey, fieldType } of type.fieldsEntries) {
      const value = (json as Record<string, unknown>)[jsonKey];
      const at = `${path}.${jsonKey}`;
      if (value === undefined) return [at, "missing"];
      try {
        fieldType.fromJson(value);
      } catch (err) {
        return locate(fieldType as Type<unknown>, value, at, (err as Error).message);
      }
    }
  }
  if ((type instanceof ListCompositeType || type instanceof ListBasicType || type instanceof VectorCompositeType) && Array.isArray(json)) {
    for (const [i, item] of json.entries()) {
      try {
        type.elementType.fromJson(item);
      } catch (err) {
        return locate(type.elementType as Type<unknown>, item, `${path}[${i}]`, (err as Error).message);
      }
    }
  }
  return [path, message];
}
