import { describe, expect, it } from "@jest/globals";
import { multiaddr } from "@multiformats/multiaddr";
import { clusterGater } from "./gater.js";
import { generateIdentity } from "./identity.js";

describe("clusterGater", () => {
  const member = generateIdentity().peerId;
  const stranger = generateIdentity().peerId;
  const denied: string[] = [];
  const gater = clusterGater(new Map([[member.toString(), ["/dns4/op-1.nektar.svc/tcp/3610"]]]), (id) => denied.push(id));

  it("admits operators only, and reports the others", async () => {
    expect(await gater.denyDialPeer!(member)).toBe(false);
    expect(await gater.denyDialPeer!(stranger)).toBe(true);
    expect(await gater.denyInboundEncryptedConnection!(member, undefined as never)).toBe(false);
    expect(await gater.denyInboundEncryptedConnection!(stranger, undefined as never)).toBe(true);
    expect(await gater.denyOutboundEncryptedConnection!(stranger, undefined as never)).toBe(true);
    expect(denied).toEqual([stranger.toString(), stranger.toString()]);
    expect(await gater.denyDialMultiaddr!(multiaddr(`/ip4/10.0.0.1/tcp/3610/p2p/${stranger}`))).toBe(true);
    expect(await gater.denyDialMultiaddr!(multiaddr(`/ip4/10.0.0.1/tcp/3610/p2p/${member}`))).toBe(false);
  });

  it("keeps only the definition's addresses in the address book", async () => {
    expect(await gater.filterMultiaddrForPeer!(member, multiaddr("/dns4/op-1.nektar.svc/tcp/3610"))).toBe(true);
    expect(await gater.filterMultiaddrForPeer!(member, multiaddr(`/dns4/op-1.nektar.svc/tcp/3610/p2p/${member}`))).toBe(true);
    // What identify would add: the pod's own idea of its address.
    expect(await gater.filterMultiaddrForPeer!(member, multiaddr("/ip4/10.244.1.17/tcp/3610"))).toBe(false);
    expect(await gater.filterMultiaddrForPeer!(stranger, multiaddr("/dns4/op-1.nektar.svc/tcp/3610"))).toBe(false);
  });
});
