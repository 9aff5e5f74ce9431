/**
 * CustomResourceDefinitions derived from the kinds in v1alpha1.ts. crds/*.yaml is this module's
 * output (`nektar controller crds --out crds`), checked in and checked current by crds.test.ts.
 */
import type { TSchema } from "@sinclair/typebox";
import { dump } from "js-yaml";
import { GROUP, KINDS, VERSION, type KindDefinition } from "./v1alpha1.js";

/**
 * A CRD manifest as the API server reads it (JSON Schema keys such as `enum` and
 * `x-kubernetes-validations`), not @kubernetes/client-node's model, whose serializer only knows
 * its camelCase names and drops these.
 */
export interface CrdManifest {
  apiVersion: "apiextensions.k8s.io/v1";
  kind: "CustomResourceDefinition";
  metadata: { name: string; labels: Record<string, string> };
  spec: Record<string, unknown>;
}

/** The CRD of one kind. */
export function customResourceDefinition(kind: KindDefinition): CrdManifest {
  const singular = kind.kind.toLowerCase();
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: `${kind.plural}.${GROUP}`, labels: { "app.kubernetes.io/part-of": "nektar" } },
    spec: {
      group: GROUP,
      names: { kind: kind.kind, listKind: `${kind.kind}List`, plural: kind.plural, singular, shortNames: kind.shortNames, categories: ["nektar"] },
      scope: "Namespaced",
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: kind.printerColumns,
          schema: {
            openAPIV3Schema: {
              type: "object",
              description: kind.description,
              required: ["spec"],
              properties: {
                apiVersion: { type: "string", description: "APIVersion defines the versioned schema of this representation of an object." },
                kind: { type: "string", description: "Kind is a string value representing the REST resource this object represents." },
                metadata: { type: "object" },
                spec: openApiSchema(kind.spec),
                status: openApiSchema(kind.status),
              },
            },
          },
        },
      ],
    },
  };
}

export function customResourceDefinitions(): CrdManifest[] {
  return KINDS.map((kind) => customResourceDefinition(kind));
}

/** File name and YAML text of each CRD, as written to crds/. */
export function renderCrds(): { file: string; yaml: string }[] {
  return customResourceDefinitions().map((crd) => ({
    file: `${crd.metadata.name}.yaml`,
    yaml: `# Generated from controller/api by \`nektar controller crds --out crds\`: do not edit.\n${dump(crd, { lineWidth: -1, noRefs: true })}`,
  }));
}

/**
 * A TypeBox schema as OpenAPI v3 for a CRD: TypeBox keeps its own markers in symbol keys, which
 * JSON drops; everything else is already structural (see schema.ts).
 */
function openApiSchema(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}
