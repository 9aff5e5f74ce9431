/**
 * Building blocks shared by the custom resources: Ethereum formats as patterns, references,
 * metav1.Condition. Every schema here is valid both for TypeBox (runtime checks, TS types) and
 * as a structural CRD schema: no `const`, no `$ref`, no `format` TypeBox would not know, and
 * bounded lengths so the API server can estimate the cost of CEL rules.
 */
import { Kind, Type, TypeRegistry, type TSchema, type TUnsafe } from "@sinclair/typebox";

/** A CEL rule the API server evaluates on create and update (x-kubernetes-validations). */
export interface CelRule {
  rule: string;
  message: string;
  /** JSONPath (relative to the schema the rule is on) of the field the message is about. */
  fieldPath?: string;
  reason?: "FieldValueInvalid" | "FieldValueForbidden" | "FieldValueRequired" | "FieldValueDuplicate";
}

/** Adds CEL rules to a schema. */
export function withRules<T extends TSchema>(schema: T, ...rules: CelRule[]): T {
  return { ...schema, "x-kubernetes-validations": rules };
}

// TypeBox writes a union of literals as `anyOf` of `const`, which a CRD refuses; a string enum is
// `{type: string, enum}`, a kind TypeBox's Value checks once it is registered.
TypeRegistry.Set<{ enum: string[] }>("StringEnum", (schema, value) => typeof value === "string" && schema.enum.includes(value));

/** A string that is one of `values`. */
export function StringEnum<const T extends readonly string[]>(values: T, description: string): TUnsafe<T[number]> {
  return Type.Unsafe<T[number]>({ [Kind]: "StringEnum", type: "string", enum: [...values], description });
}

export const BlsPubkey = (description: string) =>
  Type.String({ pattern: "^0x[0-9a-f]{96}$", minLength: 98, maxLength: 98, description: `${description} (48-byte compressed BLS12-381 G1 point, 0x-lowercase hex)` });

export const Address = (description: string) =>
  Type.String({ pattern: "^0x[0-9a-f]{40}$", minLength: 42, maxLength: 42, description: `${description} (20-byte address, 0x-lowercase hex)` });

export const Bytes32 = (description: string) =>
  Type.String({ pattern: "^0x[0-9a-f]{64}$", minLength: 66, maxLength: 66, description: `${description} (32 bytes, 0x-lowercase hex)` });

export const HttpUrl = (description: string) =>
  Type.String({ pattern: "^https?://[^\\s]+$", maxLength: 2048, description: `${description} (http:// or https:// URL)` });

/** A DNS-1123 subdomain, what Kubernetes accepts as an object name. */
export const ObjectName = (description: string) =>
  Type.String({ pattern: "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$", minLength: 1, maxLength: 253, description });

/** A reference to an object of a given kind in the same namespace. */
export const LocalRef = (description: string) => Type.Object({ name: ObjectName("Name of the object, in this namespace.") }, { description });

/** A resource.Quantity such as `10Gi` or `500M`. */
export const Quantity = (description: string) =>
  Type.String({ pattern: "^([0-9]+)(\\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|m|k|M|G|T|P|E)?$", maxLength: 32, description });

export const ConditionStatus = StringEnum(["True", "False", "Unknown"] as const, "Status of the condition.");

/** metav1.Condition, as every status here reports it. */
export const Condition = Type.Object(
  {
    type: Type.String({ maxLength: 316, pattern: "^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$", description: "Type of condition in CamelCase: Ready, Progressing or Degraded." }),
    status: ConditionStatus,
    observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: "The .metadata.generation the condition was set from." })),
    lastTransitionTime: Type.String({ maxLength: 64, description: "When the condition last changed status (RFC 3339)." }),
    reason: Type.String({ minLength: 1, maxLength: 1024, pattern: "^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$", description: "Programmatic identifier of the reason for the last transition, in CamelCase." }),
    message: Type.String({ maxLength: 32768, description: "Human-readable details of the last transition." }),
  },
  { description: "A metav1.Condition." },
);

export const Conditions = Type.Array(Condition, {
  maxItems: 8,
  description: "Observations of the resource's state: Ready, Progressing, Degraded.",
  "x-kubernetes-list-type": "map",
  "x-kubernetes-list-map-keys": ["type"],
});

/** Fields every status has. */
export const StatusBase = {
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: "The .metadata.generation this status was last computed from." })),
  conditions: Type.Optional(Conditions),
};
