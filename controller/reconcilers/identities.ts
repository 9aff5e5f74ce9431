/**
 * Operators' p2p identities, read from their identity Secrets (Operator spec.identitySecretRef).
 * The DistributedValidator reconciler signs cluster definitions with them; the Operator
 * reconciler tells each node its peers' ids. The Secrets are not watched (the controller does not
 * own them, and nothing edits them): callers look again later when one is missing.
 */
import { ApiException, CoreV1Api, type KubeConfig, type V1Secret } from "@kubernetes/client-node";
import { NektarError } from "../../services/core/errors.js";
import { fromHex } from "../../services/core/hex.js";
import { type Identity, identityFromSecret } from "../../services/core/p2p/identity.js";
import type { Operator } from "../api/v1alpha1.js";

/** The key of an operator's p2p identity in its Secret: what `nektar identity create` writes (32 bytes as hex). */
export const IDENTITY_KEY = "identity.key";

/** Why an Operator's identity cannot be read; `reason` is a condition reason. */
export class IdentityUnavailable extends NektarError {
  constructor(
    readonly reason: "IdentitySecretNotFound" | "IdentityInvalid",
    message: string,
  ) {
    super(message);
  }
}

export class OperatorIdentities {
  private readonly core: CoreV1Api;

  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }

  /** The Operator's identity and its secret bytes; IdentityUnavailable when the Secret is missing or wrong. */
  async read(operator: Operator): Promise<{ identity: Identity; secret: Uint8Array }> {
    const ref = operator.spec.identitySecretRef.name;
    const what = `Operator ${operator.metadata!.name}'s identity Secret ${ref}`;
    const secret: V1Secret | undefined = await this.core.readNamespacedSecret({ namespace: operator.metadata!.namespace!, name: ref }).catch((error: unknown) => {
      if (error instanceof ApiException && error.code === 404) return undefined;
      throw error;
    });
    const value = secret?.data?.[IDENTITY_KEY];
    const text = value === undefined ? undefined : Buffer.from(value, "base64").toString().trim();
    if (text === undefined) throw new IdentityUnavailable("IdentitySecretNotFound", `${what} does not exist or has no ${IDENTITY_KEY}`);
    // Checked here rather than by fromHex, whose error would quote the start of the secret.
    if (!/^(0x)?[0-9a-fA-F]{64}$/.test(text)) throw new IdentityUnavailable("IdentityInvalid", `${what}: ${IDENTITY_KEY} is not 32 bytes of hex`);
    try {
      const bytes = fromHex(text, what, 32);
      return { identity: identityFromSecret(bytes, what), secret: bytes };
    } catch (error) {
      if (error instanceof NektarError) throw new IdentityUnavailable("IdentityInvalid", error.message);
      throw error;
    }
  }
}
